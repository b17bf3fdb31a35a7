import { describe, expect, it } from 'vitest';
import { FloatRingBuffer } from '../../src/audio/ring-buffer.js';

const seq = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

describe('FloatRingBuffer', () => {
  it('rounds its capacity up to a power of two', () => {
    expect(new FloatRingBuffer(24000).capacity).toBe(32768);
  });

  it('returns the latest samples in order across the wrap, overwriting the oldest', () => {
    const rb = new FloatRingBuffer(8);
    rb.write(seq(0, 5));
    rb.write(seq(5, 6)); // wraps
    expect(rb.length).toBe(8);
    expect(rb.written).toBe(11);
    const out = new Float32Array(8);
    expect(rb.copyLatest(out, 8)).toBe(true);
    expect(Array.from(out)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    const three = new Float32Array(3);
    rb.copyLatest(three, 3);
    expect(Array.from(three)).toEqual([8, 9, 10]);
  });

  it('refuses to copy more than it holds, and keeps only the tail of an oversized write', () => {
    const rb = new FloatRingBuffer(4);
    rb.write(seq(0, 2));
    expect(rb.copyLatest(new Float32Array(3), 3)).toBe(false);
    rb.write(seq(10, 7), 1, 6); // 11..16: only 13..16 fit
    const out = new Float32Array(4);
    rb.copyLatest(out, 4);
    expect(Array.from(out)).toEqual([13, 14, 15, 16]);
    expect(rb.written).toBe(8);
  });
});

import { describe, expect, it } from 'vitest';
import { FloatRingBuffer } from '../../src/audio/ring-buffer.js';

/** Stream positions as values, so a copy shows exactly which samples it holds. */
const seq = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

function latest(rb: FloatRingBuffer, count: number): number[] | null {
  const out = new Float32Array(count);
  return rb.copyLatest(out, count) ? Array.from(out) : null;
}

describe('FloatRingBuffer', () => {
  it('rounds its capacity up to a power of two', () => {
    expect(new FloatRingBuffer(24000).capacity).toBe(32768);
    expect(new FloatRingBuffer(8).capacity).toBe(8);
    expect(new FloatRingBuffer(1).capacity).toBe(1);
    expect(new FloatRingBuffer(9).capacity).toBe(16);
  });

  it('BAD CALL: rejects a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 2.5, Number.NaN]) expect(() => new FloatRingBuffer(bad)).toThrow(RangeError);
  });

  it('holds what was written before it fills, with length and written counting it', () => {
    const rb = new FloatRingBuffer(8);
    expect([rb.length, rb.written]).toEqual([0, 0]);
    rb.write(seq(0, 3));
    expect([rb.length, rb.written]).toEqual([3, 3]);
    expect(latest(rb, 3)).toEqual([0, 1, 2]);
    expect(latest(rb, 2)).toEqual([1, 2]);
  });

  it('returns the latest samples in order across the wrap, the oldest overwritten', () => {
    const rb = new FloatRingBuffer(8);
    rb.write(seq(0, 5));
    rb.write(seq(5, 6)); // 8, 9, 10 wrap to slots 0..2 over 0, 1, 2
    expect([rb.length, rb.written]).toEqual([8, 11]);
    expect(latest(rb, 8)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(latest(rb, 3)).toEqual([8, 9, 10]);
    expect(latest(rb, 5)).toEqual([6, 7, 8, 9, 10]);
  });

  it('keeps only the tail of a write longer than its capacity', () => {
    const rb = new FloatRingBuffer(4);
    rb.write(seq(0, 3));
    rb.write(seq(100, 10));
    expect([rb.length, rb.written]).toEqual([4, 13]);
    expect(latest(rb, 4)).toEqual([106, 107, 108, 109]);
  });

  it('writes src[srcOffset, srcOffset + length) and defaults length to the rest of src', () => {
    const rb = new FloatRingBuffer(8);
    rb.write(seq(10, 7), 2, 3); // 12, 13, 14
    rb.write(seq(20, 4), 1); // 21, 22, 23
    expect(latest(rb, 6)).toEqual([12, 13, 14, 21, 22, 23]);
  });

  it('copyLatest refuses more than it holds, leaving dst alone, and writes at dstOffset', () => {
    const rb = new FloatRingBuffer(8);
    rb.write(seq(0, 2));
    const dst = new Float32Array(5).fill(-1);
    expect(rb.copyLatest(dst, 3)).toBe(false);
    expect(Array.from(dst)).toEqual([-1, -1, -1, -1, -1]);
    expect(rb.copyLatest(dst, 2, 2)).toBe(true);
    expect(Array.from(dst)).toEqual([-1, -1, 0, 1, -1]);
    expect(rb.copyLatest(dst, 0)).toBe(true);
  });

  it('clear() empties it', () => {
    const rb = new FloatRingBuffer(4);
    rb.write(seq(0, 6));
    rb.clear();
    expect([rb.length, rb.written]).toEqual([0, 0]);
    expect(latest(rb, 1)).toBeNull();
    rb.write(seq(50, 2));
    expect(latest(rb, 2)).toEqual([50, 51]);
  });

  it('agrees with a plain array over thousands of random writes and reads', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const rb = new FloatRingBuffer(100); // capacity 128
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 3000; step++) {
      const n = rand(300);
      const src = seq(next - 3, n + 5);
      rb.write(src, 3, n);
      for (let i = 0; i < n; i++) model.push(next + i);
      next += n;
      const count = rand(140);
      const expected = count <= Math.min(model.length, 128) ? model.slice(model.length - count) : null;
      expect(latest(rb, count)).toEqual(expected);
      expect(rb.written).toBe(model.length);
      expect(rb.length).toBe(Math.min(model.length, 128));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { seqDiff, seqNewer, seqNext, tsDiff } from '../../src/rtp/seq.js';

describe('seqDiff / seqNewer', () => {
  it('measures the short way round the 16-bit circle at the wrap point', () => {
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(5, 65530)).toBe(11);
    expect(seqDiff(65530, 5)).toBe(-11);
    expect(seqDiff(100, 90)).toBe(10);
    expect(seqDiff(7, 7)).toBe(0);
    expect(seqNewer(0, 65535)).toBe(true);
    expect(seqNewer(65535, 0)).toBe(false);
    expect(seqNewer(7, 7)).toBe(false);
  });

  it('stays within [-32768, 32767] and is ambiguous (neither newer) exactly at half range', () => {
    expect(seqDiff(32767, 0)).toBe(32767);
    expect(seqDiff(32769, 0)).toBe(-32767);
    expect(seqDiff(32768, 0)).toBe(-32768);
    expect(seqDiff(0, 32768)).toBe(-32768);
    expect(seqNewer(32768, 0)).toBe(false);
    expect(seqNewer(0, 32768)).toBe(false);
    for (let a = 0; a < 65536; a += 257) {
      for (const b of [0, 1, 32767, 32768, 65535, a]) {
        const d = seqDiff(a, b);
        expect(d).toBeGreaterThanOrEqual(-32768);
        expect(d).toBeLessThanOrEqual(32767);
        expect((b + d) & 0xffff).toBe(a);
      }
    }
  });

  it('seqNext wraps 65535 to 0', () => {
    expect(seqNext(65535)).toBe(0);
    expect(seqNext(0)).toBe(1);
    expect(seqNext(41)).toBe(42);
  });
});

describe('tsDiff', () => {
  it('measures the short way round the 32-bit circle at the wrap point', () => {
    expect(tsDiff(0, 0xffffffff)).toBe(1);
    expect(tsDiff(0xffffffff, 0)).toBe(-1);
    expect(tsDiff(80, 0xffffff60)).toBe(240); // +160 steps across the wrap: 0xffffff60 + 240 = 2^32 + 80
    expect(tsDiff(160, 0)).toBe(160);
    expect(tsDiff(0, 160)).toBe(-160);
  });

  it('stays within [-2^31, 2^31 - 1] at half range', () => {
    expect(tsDiff(0x7fffffff, 0)).toBe(0x7fffffff);
    expect(tsDiff(0x80000000, 0)).toBe(-0x80000000);
    expect(tsDiff(0x80000001, 0)).toBe(-0x7fffffff);
    expect(tsDiff(0, 0x80000000)).toBe(-0x80000000);
  });
});

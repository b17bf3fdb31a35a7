import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../src/rtp/jitter.js';
import { seqDiff, seqNewer } from '../../src/rtp/seq.js';

function harness(depth = 3) {
  const out: (number | null)[] = [];
  const jb = new JitterBuffer({
    depthPackets: depth,
    maxGapPackets: 50,
    onFrame: (payload, seq) => out.push(payload === null ? null : ((payload[0]! << 8) | payload[1]!) === seq ? seq : -1),
  });
  const push = (...seqs: number[]): void => {
    for (const s of seqs) jb.push(s, Uint8Array.from([s >> 8, s & 0xff, 0]));
  };
  return { jb, out, push };
}

describe('sequence arithmetic', () => {
  it('wraps at 16 bits with half-range compares', () => {
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(100, 90)).toBe(10);
    expect(seqNewer(5, 65530)).toBe(true);
    expect(seqNewer(65530, 5)).toBe(false);
  });
});

describe('JitterBuffer', () => {
  it('passes in-order packets straight through, payload intact', () => {
    const { jb, out, push } = harness();
    push(10, 11, 12, 13);
    expect(out).toEqual([10, 11, 12, 13]);
    expect(jb.stats).toMatchObject({ received: 4, lost: 0, late: 0, duplicate: 0, reordered: 0 });
  });

  it('puts packets reordered within the depth back in order', () => {
    const { jb, out, push } = harness(3);
    push(1, 3, 2, 4, 6, 5);
    expect(out).toEqual([1, 2, 3, 4, 5, 6]);
    expect(jb.stats).toMatchObject({ lost: 0, reordered: 2, late: 0 });
  });

  it('conceals a loss once depth packets are waiting behind it', () => {
    const { jb, out, push } = harness(3);
    push(1, 3, 4);
    expect(out).toEqual([1]);
    push(5);
    expect(out).toEqual([1, null, 3, 4, 5]);
    expect(jb.stats.lost).toBe(1);
  });

  it('counts a packet that arrives after its slot was concealed as late, and drops it', () => {
    const { jb, out, push } = harness(2);
    push(1, 3, 4, 2);
    expect(out).toEqual([1, null, 3, 4]);
    expect(jb.stats).toMatchObject({ lost: 1, late: 1 });
  });

  it('drops duplicates, whether still held or already played', () => {
    const { jb, out, push } = harness(3);
    push(1, 1, 3, 3, 2, 2);
    expect(out).toEqual([1, 2, 3]);
    expect(jb.stats.duplicate).toBe(3);
  });

  it('works across the sequence wrap', () => {
    const { jb, out, push } = harness(3);
    push(65534, 0, 65535, 1);
    expect(out).toEqual([65534, 65535, 0, 1]);
    expect(jb.stats.lost).toBe(0);
  });

  it('treats a jump larger than maxGap as a new stream, not 1000 losses', () => {
    const { jb, out, push } = harness(3);
    push(10, 11, 1011, 1012);
    expect(out).toEqual([10, 11, 1011, 1012]);
    expect(jb.stats).toMatchObject({ lost: 0, resets: 1 });
  });

  it('flush plays out what is held, concealing the gaps between', () => {
    const { out, push, jb } = harness(5);
    push(1, 3, 5);
    jb.flush();
    expect(out).toEqual([1, null, 3, null, 5]);
  });
});

describe('JitterBuffer.skip', () => {
  it('plays a skipped slot as silence without counting a loss, and ignores skips far outside the window', () => {
    const { jb, out, push } = harness(3);
    push(1);
    jb.skip(2);
    jb.skip(30000);
    push(3);
    expect(out).toEqual([1, null, 3]);
    expect(jb.stats).toMatchObject({ lost: 0, resets: 0 });
  });
});

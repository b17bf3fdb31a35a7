import { describe, expect, it } from 'vitest';
import { JitterBuffer, type JitterOptions } from '../../src/rtp/jitter.js';
import { prng } from './support.js';

/** A frame as emitted: the sequence number, and what the payload claimed to be (its own seq), or null. */
interface Out {
  seq: number;
  payloadSeq: number | null;
  tag: number;
}

/** Packets carry their own sequence number in the first two bytes, so payload mix-ups show. */
function harness(depthPackets = 3, maxGapPackets = 50, extra: Partial<JitterOptions> = {}) {
  const out: Out[] = [];
  const jb = new JitterBuffer({
    depthPackets,
    maxGapPackets,
    ...extra,
    onFrame: (payload, seq, tag) => out.push({ seq, payloadSeq: payload === null ? null : (payload[0]! << 8) | payload[1]!, tag }),
  });
  const payload = (s: number, len = 160): Uint8Array => {
    const p = new Uint8Array(len);
    p[0] = s >> 8;
    p[1] = s & 0xff;
    return p;
  };
  const push = (...seqs: number[]): void => {
    for (const s of seqs) jb.push(s, payload(s), s & 0x7f);
  };
  /** Emitted sequence numbers in order, null for a frame played as silence. */
  const seqs = (): (number | null)[] => out.map((o) => (o.payloadSeq === null ? null : o.seq));
  return { jb, out, push, payload, seqs };
}

describe('JitterBuffer: in order', () => {
  it('passes in-order packets straight through, without waiting, payload and tag intact', () => {
    const { jb, out, push } = harness();
    push(10);
    expect(out.length).toBe(1); // no added latency for an in-order stream
    push(11, 12, 13);
    expect(out).toEqual([10, 11, 12, 13].map((s) => ({ seq: s, payloadSeq: s, tag: s & 0x7f })));
    expect(jb.stats).toEqual({ received: 4, duplicate: 0, late: 0, lost: 0, reordered: 0, resets: 0, stray: 0 });
  });

  it('copies the payload: the caller may reuse its buffer (as the UDP socket does) while a packet is held', () => {
    const { out, jb } = harness(3);
    const shared = new Uint8Array(160);
    const pushVia = (s: number): void => {
      shared[0] = s >> 8;
      shared[1] = s & 0xff;
      jb.push(s, shared);
    };
    pushVia(1);
    pushVia(3); // held behind the gap at 2
    pushVia(4);
    pushVia(2); // same buffer overwritten three times since 3 was pushed
    expect(out.map((o) => o.payloadSeq)).toEqual([1, 2, 3, 4]);
  });

  it('hands out payloads of the length pushed, also when the length changes between packets', () => {
    const lengths: number[] = [];
    const jb = new JitterBuffer({ depthPackets: 3, maxGapPackets: 50, onFrame: (p) => lengths.push(p?.length ?? -1) });
    for (const [s, len] of [[1, 160], [2, 80], [3, 640], [4, 160], [5, 1]] as const) jb.push(s, new Uint8Array(len));
    expect(lengths).toEqual([160, 80, 640, 160, 1]);
  });
});

describe('JitterBuffer: reordering and loss', () => {
  it('puts packets reordered within the depth back in order, losing nothing', () => {
    const { jb, seqs, push } = harness(3);
    push(1, 3, 2, 4, 6, 5, 9, 7, 8);
    expect(seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(jb.stats).toMatchObject({ received: 9, lost: 0, late: 0, reordered: 4 }); // 2, 5, 7 and 8 came after a newer one
  });

  it('waits for a missing packet only until depth packets are held beyond it, then conceals it as null', () => {
    const { jb, seqs, push } = harness(3);
    push(1, 3, 4);
    expect(seqs()).toEqual([1]); // 2 may still come
    push(5);
    expect(seqs()).toEqual([1, null, 3, 4, 5]);
    expect(jb.stats).toMatchObject({ lost: 1, late: 0 });
  });

  it('conceals a run of missing packets one null per sequence number (once the packets after the gap confirm it)', () => {
    const { jb, out, push } = harness(2);
    push(100, 105, 106);
    expect(out.map((o) => o.seq)).toEqual([100]); // a jump alone does not move the window
    push(107);
    expect(out.map((o) => o.seq)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect(out.map((o) => o.payloadSeq)).toEqual([100, null, null, null, null, 105, 106, 107]);
    expect(out[1]!.tag).toBe(-1);
    expect(jb.stats.lost).toBe(4);
  });

  it('counts a packet reordered beyond the depth as late and drops it (its slot was already concealed)', () => {
    const { jb, seqs, push } = harness(2);
    push(1, 3, 4, 2, 5);
    expect(seqs()).toEqual([1, null, 3, 4, 5]);
    expect(jb.stats).toMatchObject({ lost: 1, late: 1, duplicate: 0, received: 4 });
  });

  it('counts duplicates, whether the first copy is still held or already played, and plays each once', () => {
    const { jb, seqs, push } = harness(3);
    push(1, 1, 3, 3, 2, 2, 3);
    expect(seqs()).toEqual([1, 2, 3]);
    expect(jb.stats).toMatchObject({ duplicate: 4, late: 0, received: 3 });
  });

  it('tells a duplicate of a played packet from a late one, as far back as maxGapPackets', () => {
    const { jb, push } = harness(3, 50);
    push(...Array.from({ length: 60 }, (_, i) => 1000 + i).filter((s) => s !== 1020));
    expect(jb.stats.lost).toBe(1);
    push(1010); // played 49 packets ago
    push(1020); // concealed 39 packets ago
    expect(jb.stats).toMatchObject({ duplicate: 1, late: 1 });
  });

  it('works across the sequence wrap, with loss and reordering at 65535 / 0', () => {
    const { jb, seqs, push } = harness(3);
    push(65533, 65535, 0, 65534, 2, 3, 4);
    expect(seqs()).toEqual([65533, 65534, 65535, 0, null, 2, 3, 4]);
    expect(jb.stats).toMatchObject({ lost: 1, reordered: 1, late: 0, resets: 0, stray: 0 });
  });

  it('matches a simulated impaired stream exactly: 5% loss, 5% duplicates, 5% adjacent swaps, across the wrap', () => {
    const rand = prng(7);
    const { jb, out, push } = harness(3);
    const arrivals: number[] = [];
    const dropped = new Set<number>();
    let dups = 0;
    let swaps = 0;
    const first = 65000;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const s = (first + i) & 0xffff;
      const r = rand();
      if (i > 0 && i < n - 1 && r < 0.05) dropped.add(s);
      else {
        arrivals.push(s);
        if (r < 0.1) {
          arrivals.push(s);
          dups++;
        }
      }
    }
    for (let i = 1; i + 2 < arrivals.length; i++) {
      if (rand() < 0.05) {
        [arrivals[i], arrivals[i + 1]] = [arrivals[i + 1]!, arrivals[i]!];
        swaps++;
        i += 2;
      }
    }
    push(...arrivals);
    jb.flush();
    expect(out.length).toBe(n); // every slot once, in order
    for (const [i, o] of out.entries()) {
      const s = (first + i) & 0xffff;
      expect(o.seq).toBe(s);
      expect(o.payloadSeq).toBe(dropped.has(s) ? null : s);
    }
    const st = jb.stats;
    expect(st.lost).toBe(dropped.size);
    expect(st.late).toBe(0);
    expect(st.received).toBe(n - dropped.size);
    expect(st.reordered).toBeGreaterThan(0);
    expect(st.reordered).toBeLessThanOrEqual(swaps);
    expect(st.duplicate).toBe(dups);
    expect(dropped.size).toBeGreaterThan(50);
  });
});

describe('JitterBuffer: far jumps', () => {
  it('treats a jump beyond maxGap, confirmed by the next two packets, as a new stream: no losses, no gap', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(10, 11, 1011, 1012);
    expect(seqs()).toEqual([10, 11]);
    push(1013);
    expect(seqs()).toEqual([10, 11, 1011, 1012, 1013]);
    expect(jb.stats).toMatchObject({ lost: 0, resets: 1, stray: 0, received: 5 });
  });

  it('plays out what the old stream still held before restarting', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(10, 12, 40000, 40001);
    expect(seqs()).toEqual([10]); // the restart waits for its third packet
    push(40002);
    expect(seqs()).toEqual([10, null, 12, 40000, 40001, 40002]);
    expect(jb.stats).toMatchObject({ lost: 1, resets: 1 });
  });

  it('confirms a restart backwards in sequence space and across the wrap', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(30000, 30001, 65535, 0, 1);
    expect(seqs()).toEqual([30000, 30001, 65535, 0, 1]);
    expect(jb.stats.resets).toBe(1);
  });

  it('drops a single stray packet far from the stream, counting it, and carries on', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(10, 11, 5000, 12, 13, 20000, 14);
    expect(seqs()).toEqual([10, 11, 12, 13, 14]);
    expect(jb.stats).toMatchObject({ stray: 2, resets: 0, lost: 0, late: 0 });
  });

  it('issue 13: one packet jumping ahead within maxGap does not move the window; the stream plays on, nothing lost', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(0, 49, 1, 2, 3);
    expect(seqs()).toEqual([0, 1, 2, 3]);
    expect(jb.stats).toMatchObject({ lost: 0, late: 0, stray: 1, resets: 0 });
  });

  it('issue 13: a burst of forged packets ahead, interleaved with the real stream, never moves the window', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(0);
    for (let i = 1; i <= 16; i++) push(i, 48 + 2 * i); // never two consecutive forged numbers in a row
    expect(seqs()).toEqual(Array.from({ length: 17 }, (_, i) => i));
    expect(jb.stats).toMatchObject({ lost: 0, late: 0, stray: 16 });
  });

  it('issue 13: a stream desynchronised by a confirmed forged jump comes back after three of its own packets', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(0, 1);
    push(49, 50, 51); // a forged burst, confirmed
    push(2, 3, 4, 5); // the real stream, now behind: late, until it confirms itself
    const out = seqs();
    expect(out.slice(-4)).toEqual([2, 3, 4, 5]);
    expect(jb.stats.resets).toBe(1);
  });

  it('a jump ahead confirmed by the packets after it is loss: the gap is concealed', () => {
    const { jb, seqs, push } = harness(3, 50);
    push(0, 20, 21);
    expect(seqs()).toEqual([0]);
    push(22);
    expect(seqs()).toEqual([0, ...Array<null>(19).fill(null), 20, 21, 22]);
    expect(jb.stats).toMatchObject({ lost: 19, resets: 0, stray: 0, received: 4 });
  });
});

describe('JitterBuffer: skip, flush, reset', () => {
  it('skip() plays a slot as silence without a loss, and is ignored outside the window', () => {
    const { jb, seqs, push } = harness(3);
    push(1);
    jb.skip(2);
    jb.skip(30000);
    jb.skip(1); // already played
    push(3);
    expect(seqs()).toEqual([1, null, 3]);
    expect(jb.stats).toMatchObject({ lost: 0, resets: 0, stray: 0, duplicate: 0 });
  });

  it('flush() plays out everything held, concealing the gaps between, and the stream continues', () => {
    const { jb, seqs, push } = harness(5);
    push(1, 3, 5);
    expect(seqs()).toEqual([1]);
    jb.flush();
    expect(seqs()).toEqual([1, null, 3, null, 5]);
    push(6, 4);
    expect(seqs()).toEqual([1, null, 3, null, 5, 6]);
    expect(jb.stats).toMatchObject({ lost: 2, late: 1 });
  });

  it('reset() flushes, then starts anew at the next packet without counting a restart', () => {
    const { jb, seqs, push } = harness(3);
    push(1, 3);
    jb.reset();
    push(9000, 9001);
    expect(seqs()).toEqual([1, null, 3, 9000, 9001]);
    expect(jb.stats).toMatchObject({ resets: 0, stray: 0, lost: 1 });
  });
});

describe('JitterBuffer: BAD CALL', () => {
  it('rejects a payload above maxPayloadBytes with RangeError, holding nothing', () => {
    const { jb, out, payload } = harness(3, 50, { maxPayloadBytes: 640 });
    expect(() => jb.push(1, payload(1, 641))).toThrow(RangeError);
    jb.push(1, payload(1, 640));
    expect(out.length).toBe(1);
  });

  it('rejects nonsensical depth and gap settings at construction', () => {
    const onFrame = (): void => undefined;
    expect(() => new JitterBuffer({ depthPackets: 0, maxGapPackets: 50, onFrame })).toThrow(RangeError);
    expect(() => new JitterBuffer({ depthPackets: 1.5, maxGapPackets: 50, onFrame })).toThrow(RangeError);
    expect(() => new JitterBuffer({ depthPackets: 10, maxGapPackets: 5, onFrame })).toThrow(RangeError);
    expect(() => new JitterBuffer({ depthPackets: 3, maxGapPackets: 50, maxPayloadBytes: 0, onFrame })).toThrow(RangeError);
  });
});

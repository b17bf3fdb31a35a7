import { describe, expect, it } from 'vitest';
import { SpeechGate, type GateInput, type GateOutcome } from '../../src/audio/speech-gate.js';
import { SILERO_CHUNK } from '../../src/audio/silero.js';

const WINDOW = 24_000;
const HOP = 8_000;

/** The worker's answer to a request: every new chunk speech (or none), passed or not. */
function verdict(input: GateInput, passed: boolean): GateOutcome {
  return { flags: new Uint8Array(input.chunks).fill(passed ? 1 : 0), offset: 0, state: input.state, context: input.context, passed };
}

/** Window k of a stream cut every HOP samples. */
const windowAt = (k: number) => ({ samples: new Float32Array(WINDOW), start: k * HOP, end: k * HOP + WINDOW });

describe('SpeechGate on a live call', () => {
  it('after a window passes, the next three windows skip Silero, then one is judged again; a rejected window ends the trust', () => {
    const gate = new SpeechGate(WINDOW, HOP, 3);
    const judged: number[] = [];
    const run = (k: number, passed: boolean) => {
      if (!gate.needsJudging()) return;
      const w = windowAt(k);
      const input = gate.request(w.samples, w.start, w.end);
      judged.push(k);
      gate.commit(input, verdict(input, passed));
    };
    for (let k = 0; k < 9; k++) run(k, true);
    expect(judged).toEqual([0, 4, 8]);
    run(9, false); // trusted (window 8 passed): not judged
    run(10, false);
    run(11, false);
    run(12, false); // judged: a tone now
    run(13, false); // judged again at once: no trust after a rejection
    expect(judged).toEqual([0, 4, 8, 12, 13]);
  });

  it('judges the whole first window, and only the newest hop of a window after a gap', () => {
    const gate = new SpeechGate(WINDOW, HOP, 3);
    const first = windowAt(0);
    const a = gate.request(first.samples, first.start, first.end);
    expect(a.chunks).toBe(Math.floor(WINDOW / SILERO_CHUNK));
    gate.commit(a, verdict(a, true));
    for (let i = 0; i < 3; i++) expect(gate.needsJudging()).toBe(false);
    const later = windowAt(4);
    const b = gate.request(later.samples, later.start, later.end);
    expect(b.from).toBe(later.end - HOP);
    expect(b.chunks).toBe(Math.floor(HOP / SILERO_CHUNK));
    expect(b.prevChunks).toBe(0);
  });

  it('offline (no hop, no trust) judges every window, and a whole window after a gap, as before', () => {
    const gate = new SpeechGate(WINDOW);
    const a = gate.request(windowAt(0).samples, 0, WINDOW);
    gate.commit(a, verdict(a, true));
    expect(gate.needsJudging()).toBe(true);
    const w = windowAt(5);
    const b = gate.request(w.samples, w.start, w.end);
    expect(b.from).toBe(w.start);
  });
});

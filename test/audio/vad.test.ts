import { describe, expect, it } from 'vitest';
import { DEFAULT_VAD, EnergyVad, rmsDbfs } from '../../src/audio/vad.js';
import { noise, speechLike } from './signals.js';

const FRAME = 160;
const SECOND = 8000;

function decisions(vad: EnergyVad, x: Float32Array): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i + FRAME <= x.length; i += FRAME) out.push(vad.process(x, i, FRAME));
  return out;
}

const ratio = (d: boolean[]): number => d.filter(Boolean).length / d.length;

/**
 * The settings recommended without the speech gate (and the defaults before quiet callers, issue 14):
 * the floor-tracking tests below check the mechanism at these; the defaults (6 dB, -70 dBFS) lean on Silero.
 */
const UNGATED = { thresholdDb: 9, minSpeechDbfs: -50 };

describe('rmsDbfs', () => {
  it('measures a full-scale sine at -3.01 dBFS and a full-scale square at 0 dBFS', () => {
    const s = Float32Array.from({ length: SECOND }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / SECOND));
    expect(rmsDbfs(s, 0, s.length)).toBeCloseTo(-3.01, 2);
    const sq = Float32Array.from({ length: 160 }, (_, i) => (i % 2 ? 1 : -1));
    expect(rmsDbfs(sq, 0, 160)).toBeCloseTo(0, 6);
  });

  it('scales by 20 dB per decade of amplitude and floors silence at -120', () => {
    const s = Float32Array.from({ length: 160 }, (_, i) => 0.01 * Math.sin((2 * Math.PI * i) / 16));
    expect(rmsDbfs(s, 0, 160)).toBeCloseTo(-43.01, 2);
    expect(rmsDbfs(new Float32Array(160), 0, 160)).toBe(-120);
    expect(rmsDbfs(Float32Array.of(1e-9, -1e-9), 0, 2)).toBe(-120);
    expect(rmsDbfs(new Float32Array(4), 0, 0)).toBe(-120);
  });

  it('measures only x[offset, offset + length)', () => {
    const x = new Float32Array(480);
    x.fill(0.5, 160, 320);
    expect(rmsDbfs(x, 160, 160)).toBeCloseTo(-6.02, 2);
    expect(rmsDbfs(x, 0, 160)).toBe(-120);
    expect(rmsDbfs(x, 320, 160)).toBe(-120);
  });
});

describe('EnergyVad', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_VAD.thresholdDb).toBe(6);
    expect(DEFAULT_VAD.minSpeechDbfs).toBe(-70);
    expect(DEFAULT_VAD.floorAttack).toBeGreaterThan(DEFAULT_VAD.floorRelease); // down fast, up slowly
  });

  it('never calls digital silence speech', () => {
    const vad = new EnergyVad();
    expect(decisions(vad, new Float32Array(SECOND * 3)).some(Boolean)).toBe(false);
    expect(vad.lastDbfs).toBe(-120);
  });

  it('finds speech after a second of -60 dBFS line noise: the words, not the pauses between them', () => {
    const vad = new EnergyVad(UNGATED);
    expect(decisions(vad, noise(SECOND, -60)).some(Boolean)).toBe(false);
    // Three 400 ms words (-20 dBFS peaks) with 300 ms pauses, all over the same line noise.
    const x = noise(2 * SECOND, -60, 2);
    const words = [
      [0, 3200],
      [5600, 8800],
      [11200, 14400],
    ] as const;
    const voice = speechLike(3200, -20, -20);
    for (const [from] of words) for (let i = 0; i < 3200; i++) x[from + i]! += voice[i]!;
    const d = decisions(vad, x);
    const inWord = (f: number): boolean => words.some(([a, b]) => f * FRAME >= a && (f + 1) * FRAME <= b);
    const wordFrames = d.filter((_, f) => inWord(f));
    const pauseFrames = d.filter((_, f) => !words.some(([a, b]) => (f + 1) * FRAME > a && f * FRAME < b));
    expect(d.slice(0, 10).some(Boolean)).toBe(true); // the very first syllable counts
    expect(ratio(wordFrames)).toBeGreaterThan(0.5);
    expect(pauseFrames.length).toBe(40); // two 300 ms pauses and the 200 ms after the last word
    expect(pauseFrames.some(Boolean)).toBe(false);
  });

  it('stops calling steady -30 dBFS noise speech within 2 s, from a quiet line or from the first frame', () => {
    const fromQuiet = new EnergyVad(UNGATED);
    decisions(fromQuiet, noise(SECOND, -60));
    const d = decisions(fromQuiet, noise(4 * SECOND, -30, 7));
    expect(d.slice(0, 5).every(Boolean)).toBe(true); // a sudden jump in level is speech at first...
    expect(d.slice(100).some(Boolean)).toBe(false); // ...but not after 2 s (100 frames)
    expect(fromQuiet.noiseFloorDbfs).toBeGreaterThan(-33);
    expect(fromQuiet.noiseFloorDbfs).toBeLessThan(-29);

    const fresh = new EnergyVad(UNGATED);
    expect(decisions(fresh, noise(4 * SECOND, -30, 3)).slice(100).some(Boolean)).toBe(false);
  });

  it('does not let the floor rise to speech level during 3 s of continuous speech-like signal', () => {
    const vad = new EnergyVad();
    decisions(vad, noise(SECOND, -60));
    let highestFloor = -Infinity;
    const d: boolean[] = [];
    const x = speechLike(3 * SECOND, -20, -20); // no pauses: the envelope only dips 20 dB between syllables
    for (let i = 0; i + FRAME <= x.length; i += FRAME) {
      d.push(vad.process(x, i, FRAME));
      highestFloor = Math.max(highestFloor, vad.noiseFloorDbfs);
    }
    expect(highestFloor).toBeLessThan(-20 - DEFAULT_VAD.thresholdDb);
    // The floor settles at the dips within the first second, then holds: no creep towards speech level.
    const second = ratio(d.slice(50, 100));
    const third = ratio(d.slice(100, 150));
    expect(third).toBeGreaterThan(0.4);
    expect(Math.abs(third - second)).toBeLessThanOrEqual(0.1);
  });

  it('tracks the floor down fast when the line gets quieter', () => {
    const vad = new EnergyVad();
    decisions(vad, noise(3 * SECOND, -30));
    decisions(vad, noise(SECOND / 10, -45, 5)); // 100 ms
    expect(vad.noiseFloorDbfs).toBeLessThan(-43);
    // Speech at -30 dBFS is now 15 dB above the floor: detected.
    expect(decisions(vad, speechLike(SECOND, -30, -Infinity)).some(Boolean)).toBe(true);
  });

  it('with the defaults, hears a talker peaking at -55 dBFS over -75 dBFS line hiss that the ungated settings miss', () => {
    for (const [opts, expected] of [
      [{}, true],
      [UNGATED, false],
    ] as const) {
      const vad = new EnergyVad(opts);
      decisions(vad, noise(SECOND, -75));
      expect(ratio(decisions(vad, speechLike(2 * SECOND, -55, -Infinity))) > 0.3, JSON.stringify(opts)).toBe(expected);
    }
  });

  it('honours minSpeechDbfs and thresholdDb', () => {
    const quiet = new EnergyVad({ minSpeechDbfs: -30 });
    decisions(quiet, noise(SECOND, -70));
    expect(decisions(quiet, speechLike(2 * SECOND, -40, -Infinity)).some(Boolean)).toBe(false);

    // A -20 dBFS frame 25 dB above a floor learnt on -45 dBFS noise: speech at 9 dB, not at 30 dB.
    for (const [thresholdDb, expected] of [
      [30, false],
      [9, true],
    ] as const) {
      const vad = new EnergyVad({ thresholdDb });
      decisions(vad, noise(3 * SECOND, -45));
      expect(vad.process(noise(FRAME, -20, 5), 0, FRAME), `thresholdDb ${thresholdDb}`).toBe(expected);
    }
  });

  it('reports the level of the last frame', () => {
    const vad = new EnergyVad();
    const x = noise(FRAME, -37);
    vad.process(x, 0, FRAME);
    expect(vad.lastDbfs).toBeCloseTo(rmsDbfs(x, 0, FRAME), 10);
    expect(vad.lastDbfs).toBeCloseTo(-37, 0);
  });

  it('reset() forgets the floor it learnt', () => {
    const vad = new EnergyVad(UNGATED);
    const initial = vad.noiseFloorDbfs;
    decisions(vad, noise(4 * SECOND, -30));
    expect(vad.process(noise(FRAME, -25, 9), 0, FRAME)).toBe(false);
    vad.reset();
    expect(vad.noiseFloorDbfs).toBe(initial);
    expect(vad.lastDbfs).toBe(-120);
    expect(vad.process(noise(FRAME, -25, 9), 0, FRAME)).toBe(true);
  });

  it('BAD CALL: rejects attack/release outside (0, 1] and a negative threshold', () => {
    expect(() => new EnergyVad({ floorAttack: 0 })).toThrow(RangeError);
    expect(() => new EnergyVad({ floorRelease: 1.5 })).toThrow(RangeError);
    expect(() => new EnergyVad({ floorRelease: Number.NaN })).toThrow(RangeError);
    expect(() => new EnergyVad({ thresholdDb: -3 })).toThrow(RangeError);
  });
});

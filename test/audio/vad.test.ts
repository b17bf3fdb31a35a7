import { describe, expect, it } from 'vitest';
import { EnergyVad, rmsDbfs } from '../../src/audio/vad.js';

const FRAME = 160;

function noise(seconds: number, dbfs: number, seed = 1): Float32Array {
  const amp = 10 ** (dbfs / 20) * Math.sqrt(3); // uniform noise of that RMS
  let s = seed;
  return Float32Array.from({ length: seconds * 8000 }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return amp * ((s / 2 ** 32) * 2 - 1);
  });
}

/** Voiced syllables at ~4 Hz with gaps, peak level about `dbfs`. */
function speechLike(seconds: number, dbfs: number): Float32Array {
  const amp = 10 ** (dbfs / 20) * Math.SQRT2;
  return Float32Array.from({ length: seconds * 8000 }, (_, n) => {
    const t = n / 8000;
    const env = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 2;
    let v = 0;
    for (let h = 1; h <= 8; h++) v += Math.sin(2 * Math.PI * 130 * h * t) / h;
    return (amp * env * v) / 1.5;
  });
}

function decisions(vad: EnergyVad, x: Float32Array): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i + FRAME <= x.length; i += FRAME) out.push(vad.process(x, i, FRAME));
  return out;
}

const ratio = (d: boolean[]): number => d.filter(Boolean).length / d.length;

describe('rmsDbfs', () => {
  it('measures a full-scale sine at -3.01 dBFS and silence at the floor', () => {
    const s = Float32Array.from({ length: 8000 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 8000));
    expect(rmsDbfs(s, 0, s.length)).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(new Float32Array(160), 0, 160)).toBe(-120);
  });
});

describe('EnergyVad', () => {
  it('never calls digital silence speech', () => {
    expect(decisions(new EnergyVad(), new Float32Array(8000 * 3)).some(Boolean)).toBe(false);
  });

  it('finds speech after a second of quiet line noise', () => {
    const vad = new EnergyVad();
    decisions(vad, noise(1, -60));
    const d = decisions(vad, speechLike(2, -20));
    expect(ratio(d)).toBeGreaterThan(0.4);
    expect(ratio(d)).toBeLessThan(0.9); // the gaps between syllables are not speech
  });

  it('stops calling steady loud noise speech once the floor has adapted (within 2 s)', () => {
    const vad = new EnergyVad();
    decisions(vad, noise(2, -30));
    expect(ratio(decisions(vad, noise(2, -30, 7)))).toBe(0);
  });

  it('does not let the floor climb to speech level during three seconds of talking', () => {
    const vad = new EnergyVad();
    decisions(vad, noise(1, -60));
    const d = decisions(vad, speechLike(3, -20));
    const lastSecond = d.slice(-50);
    expect(ratio(lastSecond)).toBeGreaterThan(0.4);
    expect(vad.noiseFloorDbfs).toBeLessThan(-40);
  });

  it('honours the minimum speech level', () => {
    const vad = new EnergyVad({ minSpeechDbfs: -30 });
    decisions(vad, noise(1, -70));
    expect(decisions(vad, speechLike(2, -40)).some(Boolean)).toBe(false);
  });
});

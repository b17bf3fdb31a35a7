import { describe, expect, it } from 'vitest';
import { Decimator16to8, decodeSlin16BE, resampleTo8k } from '../../src/audio/resample.js';

function sine(rate: number, freq: number, seconds: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

/** Level of x relative to a sine of amplitude `amp`, skipping the filter's edges. */
function gainDb(x: Float32Array, amp = 0.5, skip = 400): number {
  let s = 0;
  for (let i = skip; i < x.length - skip; i++) s += x[i]! * x[i]!;
  return 20 * Math.log10(Math.sqrt(s / (x.length - 2 * skip)) / (amp / Math.SQRT2));
}

/** Dominant frequency by correlation against probe sines (coarse, enough to catch aliasing). */
function dominantHz(x: Float32Array, rate: number): number {
  let best = 0;
  let bestPower = -1;
  for (let f = 50; f < rate / 2; f += 50) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < x.length; i++) {
      re += x[i]! * Math.cos((2 * Math.PI * f * i) / rate);
      im += x[i]! * Math.sin((2 * Math.PI * f * i) / rate);
    }
    if (re * re + im * im > bestPower) [best, bestPower] = [f, re * re + im * im];
  }
  return best;
}

describe('Decimator16to8 (slin16 RTP)', () => {
  it('passes speech-band tones at unity gain and removes what would alias', () => {
    for (const f of [300, 1000, 3000]) {
      const d = new Decimator16to8();
      const x = sine(16000, f, 1);
      const out = new Float32Array(8000);
      d.process(x, x.length, out, 0);
      expect(Math.abs(gainDb(out))).toBeLessThan(0.5);
    }
    const d = new Decimator16to8();
    const x = sine(16000, 5000, 1);
    const out = new Float32Array(8000);
    d.process(x, x.length, out, 0);
    expect(gainDb(out)).toBeLessThan(-40);
  });

  it('gives the same samples whether fed in 320-sample packets or at once, odd lengths included', () => {
    const x = sine(16000, 700, 0.5);
    const whole = new Float32Array(4000);
    new Decimator16to8().process(x, x.length, whole, 0);
    const parts = new Float32Array(4000);
    const d = new Decimator16to8();
    let w = 0;
    let at = 0;
    const sizes = [320, 161, 159, 321, 319];
    for (let k = 0; at < x.length; k++) {
      const size = Math.min(sizes[k % sizes.length]!, x.length - at);
      w += d.process(x.subarray(at, at + size), size, parts, w);
      at += size;
    }
    expect(w).toBe(4000);
    expect(parts).toEqual(whole);
  });

  it('reads big-endian 16-bit samples', () => {
    const dst = new Float32Array(3);
    expect(decodeSlin16BE(Uint8Array.from([0x40, 0x00, 0xc0, 0x00, 0x7f, 0xff]), dst)).toBe(3);
    expect(Array.from(dst)).toEqual([0.5, -0.5, 32767 / 32768]);
  });
});

describe('resampleTo8k (recordings at any rate)', () => {
  it('keeps frequency and level for 11.025, 16, 22.05, 44.1 and 48 kHz input', () => {
    for (const rate of [11025, 16000, 22050, 44100, 48000]) {
      const y = resampleTo8k(sine(rate, 1000, 0.5), rate);
      expect(y.length).toBe(4000);
      expect(Math.abs(gainDb(y))).toBeLessThan(0.3);
      expect(dominantHz(y.subarray(0, 2000), 8000)).toBe(1000);
    }
  });

  it('removes content above 4 kHz instead of folding it into the band', () => {
    for (const rate of [16000, 44100, 48000]) {
      expect(gainDb(resampleTo8k(sine(rate, 5500, 0.5), rate))).toBeLessThan(-50);
    }
  });

  it('returns a copy at 8 kHz', () => {
    const x = sine(8000, 440, 0.1);
    const y = resampleTo8k(x, 8000);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
  });
});

import { describe, expect, it } from 'vitest';
import { Decimator16to8, decodeSlin16BE, resampleTo8k } from '../../src/audio/resample.js';
import { db, fitTone, rms, sine } from './signals.js';

/** Decimates a whole signal at once with a fresh decimator. */
function decimate(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length >> 1);
  const n = new Decimator16to8().process(x, x.length, out, 0);
  expect(n).toBe(x.length >> 1);
  return out;
}

/** The filter has settled after 63 input taps; skip a generous 100 output samples. */
const SETTLED = 100;

describe('Decimator16to8 (slin16 RTP)', () => {
  it('keeps a 1 kHz sine at 1 kHz and the same amplitude (±0.5 dB)', () => {
    const y = decimate(sine(16000, 1000, 16000, 0.5));
    const fit = fitTone(y, 8000, 1000, SETTLED, y.length);
    expect(Math.abs(db(fit.amp / 0.5))).toBeLessThan(0.5);
    expect(fit.residualDb).toBeLessThan(-60); // nothing but the 1 kHz tone
  });

  it('passes the telephone band (300-3400 Hz) flat within ±0.5 dB', () => {
    for (const f of [300, 2000, 3000, 3400]) {
      const y = decimate(sine(16000, f, 16000, 0.5));
      const fit = fitTone(y, 8000, f, SETTLED, y.length);
      expect(Math.abs(db(fit.amp / 0.5)), `${f} Hz`).toBeLessThan(0.5);
    }
  });

  it('attenuates a 5 kHz sine (which would alias to 3 kHz) by at least 40 dB', () => {
    const y = decimate(sine(16000, 5000, 16000, 0.5));
    expect(db(rms(y, SETTLED) / (0.5 / Math.SQRT2))).toBeLessThan(-40);
  });

  it('attenuates everything from 4.6 kHz to 8 kHz by at least 60 dB', () => {
    for (const f of [4600, 5500, 6500, 7500]) {
      const y = decimate(sine(16000, f, 16000, 0.5, 0.3));
      expect(db(rms(y, SETTLED) / (0.5 / Math.SQRT2)), `${f} Hz`).toBeLessThan(-60);
    }
  });

  it('gives the same samples whether fed in 320-sample packets or in one go', () => {
    const x = sine(16000, 700, 16000, 0.5);
    const whole = decimate(x);
    const parts = new Float32Array(8000);
    const d = new Decimator16to8();
    let w = 0;
    for (let at = 0; at < x.length; at += 320) w += d.process(x.subarray(at, at + 320), 320, parts, w);
    expect(w).toBe(8000);
    expect(parts).toEqual(whole);
  });

  it('carries its phase over odd packet lengths', () => {
    const x = sine(16000, 1300, 8000, 0.5);
    const whole = decimate(x);
    const parts = new Float32Array(4000);
    const d = new Decimator16to8();
    const sizes = [161, 159, 1, 321, 319, 2, 3];
    let w = 0;
    for (let at = 0, k = 0; at < x.length; k++) {
      const size = Math.min(sizes[k % sizes.length]!, x.length - at);
      w += d.process(x.subarray(at, at + size), size, parts, w);
      at += size;
    }
    expect(w).toBe(4000);
    expect(parts).toEqual(whole);
  });

  it('only uses srcLength samples of a larger buffer, and writes only its outputs', () => {
    const x = sine(16000, 440, 640, 0.5);
    const expected = decimate(x.slice(0, 320));
    const big = new Float32Array(640).fill(7);
    big.set(x.subarray(0, 320));
    const dst = new Float32Array(170).fill(7);
    expect(new Decimator16to8().process(big, 320, dst, 5)).toBe(160);
    expect(dst.subarray(5, 165)).toEqual(expected);
    expect([dst[4], dst[165]]).toEqual([7, 7]);
  });

  it('forgets the previous call on reset()', () => {
    const d = new Decimator16to8();
    const junk = sine(16000, 3000, 333, 0.9);
    d.process(junk, junk.length, new Float32Array(200), 0);
    d.reset();
    const x = sine(16000, 500, 640, 0.5);
    const out = new Float32Array(320);
    d.process(x, x.length, out, 0);
    expect(out).toEqual(decimate(x));
  });
});

describe('decodeSlin16BE', () => {
  it('reads big-endian signed 16-bit samples as value / 32768', () => {
    const dst = new Float32Array(5);
    const n = decodeSlin16BE(Uint8Array.from([0x40, 0x00, 0xc0, 0x00, 0x7f, 0xff, 0x80, 0x00, 0x00, 0x01]), dst);
    expect(n).toBe(5);
    expect(Array.from(dst)).toEqual([0.5, -0.5, 32767 / 32768, -1, 1 / 32768]);
  });

  it('reads a payload at an odd byte offset and ignores a trailing odd byte', () => {
    const packet = Uint8Array.from([0xaa, 0x12, 0x34, 0xfe, 0xdc, 0x99]);
    const dst = new Float32Array(2);
    expect(decodeSlin16BE(packet.subarray(1), dst)).toBe(2);
    expect(Array.from(dst)).toEqual([0x1234 / 32768, (0xfedc - 0x10000) / 32768]);
  });
});

describe('resampleTo8k (recordings at any rate)', () => {
  const RATES = [11025, 16000, 22050, 44100, 48000];
  const EDGE = 400; // output samples skipped at each end (zero padding outside the recording)

  it('keeps frequency and amplitude (±0.1 dB) of speech-band tones at every common rate', () => {
    for (const rate of RATES) {
      for (const f of [250, 1000, 3300]) {
        const y = resampleTo8k(sine(rate, f, rate, 0.5), rate); // 1 s
        expect(y.length).toBe(8000);
        const fit = fitTone(y, 8000, f, EDGE, y.length - EDGE);
        expect(Math.abs(db(fit.amp / 0.5)), `${rate} Hz, ${f} Hz tone`).toBeLessThan(0.1);
        expect(fit.residualDb, `${rate} Hz, ${f} Hz tone`).toBeLessThan(-60);
      }
    }
  });

  it('removes content above 4 kHz instead of folding it into the band (>= 60 dB down)', () => {
    for (const rate of [16000, 22050, 44100, 48000]) {
      for (const f of [4300, 5000, 7000, 10000]) {
        if (f >= rate / 2) continue;
        const y = resampleTo8k(sine(rate, f, rate, 0.5, 0.2), rate);
        expect(db(rms(y, EDGE, y.length - EDGE) / (0.5 / Math.SQRT2)), `${rate} Hz, ${f} Hz tone`).toBeLessThan(-60);
      }
    }
  });

  it('separates a 1 kHz tone from a 6 kHz tone mixed with it at 44.1 and 48 kHz', () => {
    for (const rate of [44100, 48000]) {
      const a = sine(rate, 1000, rate, 0.3);
      const b = sine(rate, 6000, rate, 0.3);
      const y = resampleTo8k(a.map((v, i) => v + b[i]!), rate);
      const fit = fitTone(y, 8000, 1000, EDGE, y.length - EDGE);
      expect(Math.abs(db(fit.amp / 0.3))).toBeLessThan(0.1);
      expect(fit.residualDb).toBeLessThan(-55);
    }
  });

  it('handles a non-integer rate and upsampling from below 8 kHz', () => {
    const odd = resampleTo8k(sine(12345.6, 1000, 12346, 0.5), 12345.6);
    expect(odd.length).toBe(8000);
    expect(Math.abs(db(fitTone(odd, 8000, 1000, EDGE, 8000 - EDGE).amp / 0.5))).toBeLessThan(0.1);
    const up = resampleTo8k(sine(6000, 1000, 6000, 0.5), 6000);
    expect(up.length).toBe(8000);
    const fit = fitTone(up, 8000, 1000, EDGE, 8000 - EDGE);
    expect(Math.abs(db(fit.amp / 0.5))).toBeLessThan(0.1);
    expect(fit.residualDb).toBeLessThan(-50); // no images of the 1 kHz tone at 5 kHz - 1 kHz
  });

  it('returns a copy at 8 kHz and rejects nonsense rates', () => {
    const x = sine(8000, 440, 800);
    const y = resampleTo8k(x, 8000);
    expect(y).toEqual(x);
    expect(y.buffer).not.toBe(x.buffer);
    for (const bad of [0, -8000, Number.NaN, Infinity]) expect(() => resampleTo8k(x, bad)).toThrow(RangeError);
  });

  it('converts a 60 s 48 kHz recording to exactly 60 s at 8 kHz', () => {
    const y = resampleTo8k(sine(48000, 440, 48000 * 60, 0.5), 48000);
    expect(y.length).toBe(8000 * 60);
  });
});

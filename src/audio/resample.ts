/**
 * Sample-rate conversion to the model's 8 kHz: a streaming 2:1 decimator for slin16 RTP (hot path), and
 * an offline band-limited resampler for recordings at any rate.
 */
import { besselI0, kaiserBeta, windowedSinc } from './fir.js';

const TARGET_RATE = 8000;

// Half-band low-pass at 16 kHz: cutoff fs/4, so every even-offset tap except the centre is zero and each
// output costs 16 multiplies. 63 taps with a 70 dB Kaiser window: flat to ~3.4 kHz, >= 70 dB down from
// ~4.6 kHz.
const HB_TAPS = 63;
const HB_CENTRE = (HB_TAPS - 1) / 2;
const HB_SIDE = (HB_CENTRE + 1) / 2; // non-zero taps on each side, at odd offsets 1, 3, ..., 31
const HB_COEFFS: Float64Array = (() => {
  const beta = kaiserBeta(70);
  const i0 = besselI0(beta);
  const g = new Float64Array(HB_SIDE);
  let sum = 0;
  for (let j = 0; j < HB_SIDE; j++) {
    g[j] = windowedSinc(2 * j + 1, 0.25, HB_CENTRE + 1, beta, i0);
    sum += 2 * g[j]!;
  }
  // Side taps scaled to sum to exactly 0.5 with the centre tap 0.5: unity gain at DC.
  for (let j = 0; j < HB_SIDE; j++) g[j]! *= 0.5 / sum;
  return g;
})();

/**
 * 16 kHz to 8 kHz, streaming: the delay line carries over packet boundaries (and odd packet lengths), so
 * feeding 320-sample packets gives exactly the samples of one call over the whole stream. Latency is 31
 * input samples (~2 ms). Allocates nothing after construction.
 *
 *   delay line, doubled so the latest 63 samples are always contiguous:
 *   [ x0 x1 ... x62 | x0 x1 ... x62 ]      each sample is written at pos and pos + 63;
 *          ^pos = oldest                     the window is line[pos .. pos + 62]
 */
export class Decimator16to8 {
  readonly #line = new Float32Array(2 * HB_TAPS);
  #pos = 0;
  /** Samples since the last output (0 or 1). */
  #phase = 0;

  /**
   * Filters `srcLength` samples of `src` and writes every second filtered sample to `dst` from `dstOffset`.
   * Returns the number written: srcLength / 2 for even lengths (odd lengths carry their phase over).
   */
  process(src: Float32Array, srcLength: number, dst: Float32Array, dstOffset: number): number {
    const line = this.#line;
    const g = HB_COEFFS;
    let pos = this.#pos;
    let phase = this.#phase;
    let out = dstOffset;
    for (let i = 0; i < srcLength; i++) {
      const x = src[i]!;
      line[pos] = x;
      line[pos + HB_TAPS] = x;
      pos = pos + 1 === HB_TAPS ? 0 : pos + 1;
      phase ^= 1;
      if (phase !== 0) continue;
      const c = pos + HB_CENTRE;
      let acc = 0.5 * line[c]!;
      for (let j = 0; j < HB_SIDE; j++) {
        const k = 2 * j + 1;
        acc += g[j]! * (line[c - k]! + line[c + k]!);
      }
      dst[out++] = acc;
    }
    this.#pos = pos;
    this.#phase = phase;
    return out - dstOffset;
  }

  reset(): void {
    this.#line.fill(0);
    this.#pos = 0;
    this.#phase = 0;
  }
}

/**
 * Big-endian signed 16-bit (Asterisk's slin16 RTP payload) to floats in [-1, 1); returns the sample
 * count. Byte math rather than an Int16Array view: payloads sit at odd offsets inside the UDP datagram.
 */
export function decodeSlin16BE(src: Uint8Array, dst: Float32Array): number {
  const n = src.length >> 1;
  for (let i = 0; i < n; i++) {
    const v = (src[2 * i]! << 8) | src[2 * i + 1]!;
    dst[i] = ((v << 16) >> 16) / 32768;
  }
  return n;
}

// Offline resampler: passband to 0.85 of the lower Nyquist frequency, stopband from 1.05 of it, 80 dB.
const PASS_EDGE = 0.85;
const STOP_EDGE = 1.05;
const STOPBAND_DB = 80;
/** Fractional positions are rounded to 1/MAX_PHASES of an input sample when the rate ratio needs more. */
const MAX_PHASES = 1024;

/**
 * Offline conversion of a whole recording to 8 kHz by band-limited interpolation (Kaiser-windowed sinc,
 * polyphase table). Rates whose ratio to 8 kHz needs at most 1024 phases (all the usual ones: 11025,
 * 16000, 22050, 44100, 48000, ...) are converted exactly; others with sub-sample positions rounded to
 * 1/1024 sample. 8 kHz input is returned as a copy.
 */
export function resampleTo8k(samples: Float32Array, fromRate: number): Float32Array {
  if (!Number.isFinite(fromRate) || fromRate <= 0) throw new RangeError(`invalid sample rate: ${fromRate}`);
  if (fromRate === TARGET_RATE) return samples.slice();

  const nyquist = Math.min(TARGET_RATE, fromRate) / 2;
  const cutoff = (((PASS_EDGE + STOP_EDGE) / 2) * nyquist) / fromRate; // cycles per input sample
  const transition = (2 * Math.PI * (STOP_EDGE - PASS_EDGE) * nyquist) / fromRate; // rad per input sample
  const half = Math.ceil((STOPBAND_DB - 8) / (2.285 * transition) / 2); // Kaiser's length estimate, halved
  const taps = 2 * half;

  // Output n sits at input position n * step = n * down / up (exact integers when the ratio is rational).
  const g = Number.isInteger(fromRate) ? gcd(fromRate, TARGET_RATE) : 0;
  const exact = g > 0 && TARGET_RATE / g <= MAX_PHASES;
  const up = exact ? TARGET_RATE / g : MAX_PHASES;
  const down = exact ? fromRate / g : 0;
  const table = phaseTable(up, taps, half, cutoff, kaiserBeta(STOPBAND_DB));

  const outLength = Math.floor((samples.length * TARGET_RATE) / fromRate);
  const out = new Float32Array(outLength);
  const last = samples.length - 1;
  for (let n = 0; n < outLength; n++) {
    let centre: number;
    let phase: number;
    if (exact) {
      const num = n * down;
      centre = Math.floor(num / up);
      phase = num - centre * up;
    } else {
      const t = (n * fromRate) / TARGET_RATE;
      centre = Math.floor(t);
      phase = Math.round((t - centre) * up);
      if (phase === up) {
        centre++;
        phase = 0;
      }
    }
    const row = phase * taps;
    const first = centre - half + 1;
    let acc = 0;
    if (first >= 0 && first + taps - 1 <= last) {
      for (let j = 0; j < taps; j++) acc += table[row + j]! * samples[first + j]!;
    } else {
      // Near either end: the signal is taken as zero outside the recording.
      const lo = Math.max(0, -first);
      const hi = Math.min(taps - 1, last - first);
      for (let j = lo; j <= hi; j++) acc += table[row + j]! * samples[first + j]!;
    }
    out[n] = acc;
  }
  return out;
}

/** Row p holds the taps for an output p/phases of a sample after `centre`, over centre-half+1 .. centre+half. */
function phaseTable(phases: number, taps: number, half: number, cutoff: number, beta: number): Float32Array {
  const i0 = besselI0(beta);
  const table = new Float32Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const h = windowedSinc(j - half + 1 - frac, cutoff, half, beta, i0);
      table[p * taps + j] = h;
      sum += h;
    }
    // Each phase at exactly unity DC gain, so no phase-dependent ripple on low frequencies.
    for (let j = 0; j < taps; j++) table[p * taps + j]! /= sum;
  }
  return table;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

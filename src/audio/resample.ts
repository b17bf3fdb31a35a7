/**
 * Sample-rate conversion to the model's 8 kHz: a streaming 2:1 decimator for slin16 RTP, and an offline
 * band-limited resampler for recordings at any rate.
 */

const HALF_BAND_TAPS = 47;

/** Windowed-sinc low-pass taps (Blackman window), cutoff as a fraction of the sample rate. */
function lowPass(taps: number, cutoff: number): Float32Array {
  const h = new Float32Array(taps);
  const mid = (taps - 1) / 2;
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const d = i - mid;
    const sinc = d === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * d) / (Math.PI * d);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1));
    h[i] = sinc * w;
    sum += h[i]!;
  }
  for (let i = 0; i < taps; i++) h[i]! /= sum;
  return h;
}

/** 16 kHz to 8 kHz, streaming: the filter history carries over packet boundaries. */
export class Decimator16to8 {
  static readonly #taps = lowPass(HALF_BAND_TAPS, 3700 / 16000);
  #history = new Float32Array(HALF_BAND_TAPS - 1);
  #work = new Float32Array(HALF_BAND_TAPS - 1 + 640);
  #phase = 0;

  /** Writes the decimated samples (srcLength / 2 for even lengths) into dst from dstOffset; returns the count. */
  process(src: Float32Array, srcLength: number, dst: Float32Array, dstOffset: number): number {
    const h = Decimator16to8.#taps;
    const hist = HALF_BAND_TAPS - 1;
    if (this.#work.length < hist + srcLength) this.#work = new Float32Array(hist + srcLength);
    const work = this.#work;
    work.set(this.#history, 0);
    work.set(src.subarray(0, srcLength), hist);
    let written = 0;
    // Every second input sample, starting where the previous call left off, ends one output's filter span.
    let i = this.#phase;
    for (; i < srcLength; i += 2) {
      let acc = 0;
      const end = hist + i;
      for (let k = 0; k < HALF_BAND_TAPS; k++) acc += h[k]! * work[end - k]!;
      dst[dstOffset + written++] = acc;
    }
    this.#phase = i - srcLength;
    this.#history.set(work.subarray(srcLength, srcLength + hist));
    return written;
  }

  reset(): void {
    this.#history.fill(0);
    this.#phase = 0;
  }
}

/** Big-endian signed 16-bit (Asterisk's slin16 RTP payload) to floats; returns the sample count. */
export function decodeSlin16BE(src: Uint8Array, dst: Float32Array): number {
  const n = src.length >> 1;
  for (let i = 0; i < n; i++) {
    const v = (src[2 * i]! << 8) | src[2 * i + 1]!;
    dst[i] = (v & 0x8000 ? v - 0x10000 : v) / 32768;
  }
  return n;
}

const ZERO_CROSSINGS = 12;
const TABLE_STEPS = 512;

/** Offline conversion of a whole recording to 8 kHz with a band-limited (windowed-sinc) interpolator. */
export function resampleTo8k(samples: Float32Array, fromRate: number): Float32Array {
  const toRate = 8000;
  if (fromRate === toRate) return samples.slice();
  if (!(fromRate > 0)) throw new RangeError(`invalid sample rate ${fromRate}`);
  const ratio = toRate / fromRate;
  // Cut off a little below the lower of the two Nyquist frequencies.
  const fc = 0.92 * Math.min(1, ratio);
  const halfWidth = Math.ceil(ZERO_CROSSINGS / fc);
  const table = kernelTable(fc, halfWidth);
  const outLength = Math.floor(samples.length * ratio);
  const out = new Float32Array(outLength);
  const step = 1 / ratio;
  for (let n = 0; n < outLength; n++) {
    const t = n * step;
    const centre = Math.floor(t);
    const frac = t - centre;
    let acc = 0;
    const lo = Math.max(0, centre - halfWidth + 1);
    const hi = Math.min(samples.length - 1, centre + halfWidth);
    for (let k = lo; k <= hi; k++) {
      const d = Math.abs(k - centre - frac);
      acc += samples[k]! * table[Math.round(d * TABLE_STEPS)]!;
    }
    out[n] = acc;
  }
  return out;
}

function kernelTable(fc: number, halfWidth: number): Float32Array {
  const size = halfWidth * TABLE_STEPS + 2;
  const table = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const d = i / TABLE_STEPS;
    if (d >= halfWidth) break;
    const x = Math.PI * fc * d;
    const sinc = d === 0 ? 1 : Math.sin(x) / x;
    const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / halfWidth) + 0.08 * Math.cos((2 * Math.PI * d) / halfWidth);
    table[i] = fc * sinc * w;
  }
  return table;
}

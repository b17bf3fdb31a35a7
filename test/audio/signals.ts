/** Deterministic test signals and measurements for the audio tests. */

export function sine(rate: number, freq: number, samples: number, amp = 0.5, phase = 0): Float32Array {
  return Float32Array.from({ length: samples }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate + phase));
}

/** Seeded uniform white noise with the given RMS level in dBFS. */
export function noise(samples: number, dbfs: number, seed = 1): Float32Array {
  const amp = 10 ** (dbfs / 20) * Math.sqrt(3);
  let s = seed >>> 0;
  return Float32Array.from({ length: samples }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return amp * ((s / 2 ** 32) * 2 - 1);
  });
}

/**
 * Voiced speech stand-in at 8 kHz: a harmonic complex (f0 ~140 Hz with vibrato, falling spectrum),
 * amplitude-modulated at a syllable rate of ~4 Hz between `dipDb` below and the peak. `peakDbfs` is the
 * RMS level at the envelope's peak. With dipDb = -Infinity the syllables are separated by true silence.
 */
export function speechLike(samples: number, peakDbfs: number, dipDb = -20): Float32Array {
  const floor = dipDb === -Infinity ? 0 : 10 ** (dipDb / 20);
  let norm = 0;
  for (let h = 1; h <= 10; h++) norm += 1 / (h * h);
  const amp = (10 ** (peakDbfs / 20) * Math.SQRT2) / Math.sqrt(norm);
  let phase = 0;
  return Float32Array.from({ length: samples }, (_, n) => {
    const t = n / 8000;
    phase += (2 * Math.PI * (140 + 15 * Math.sin(2 * Math.PI * 0.7 * t))) / 8000;
    const syllable = 0.5 - 0.5 * Math.cos(2 * Math.PI * 4.1 * t);
    const env = floor + (1 - floor) * syllable;
    let v = 0;
    for (let h = 1; h <= 10; h++) v += Math.sin(h * phase) / h;
    return amp * env * v;
  });
}

export function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

export const db = (ratio: number): number => 20 * Math.log10(ratio);

/**
 * Least-squares fit of a sinusoid at `freq` to x[from, to): its amplitude, and the power left over
 * relative to the fitted tone in dB. A pure tone at exactly `freq` leaves a residual far below 0 dB;
 * a tone at another frequency, aliasing or added noise leave a large residual.
 */
export function fitTone(x: Float32Array, rate: number, freq: number, from: number, to: number): { amp: number; residualDb: number } {
  let ss = 0;
  let cc = 0;
  let sc = 0;
  let xs = 0;
  let xc = 0;
  for (let i = from; i < to; i++) {
    const s = Math.sin((2 * Math.PI * freq * i) / rate);
    const c = Math.cos((2 * Math.PI * freq * i) / rate);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[i]! * s;
    xc += x[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  let res = 0;
  let fit = 0;
  for (let i = from; i < to; i++) {
    const y = a * Math.sin((2 * Math.PI * freq * i) / rate) + b * Math.cos((2 * Math.PI * freq * i) / rate);
    fit += y * y;
    res += (x[i]! - y) ** 2;
  }
  return { amp: Math.hypot(a, b), residualDb: 10 * Math.log10(res / fit) };
}

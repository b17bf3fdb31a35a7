/**
 * Kaiser-windowed sinc kernels shared by the streaming decimator and the offline resampler.
 */

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for x < 30). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 60; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** Kaiser's beta for a stopband attenuation in dB (Kaiser's empirical formula). */
export function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/**
 * Low-pass impulse response at `d` samples from its centre: ideal sinc with cutoff `cutoff` (cycles per
 * sample, 0 < cutoff <= 0.5), Kaiser window reaching zero at |d| = halfWidth.
 */
export function windowedSinc(d: number, cutoff: number, halfWidth: number, beta: number, i0Beta = besselI0(beta)): number {
  const r = d / halfWidth;
  if (r <= -1 || r >= 1) return 0;
  const x = 2 * Math.PI * cutoff * d;
  const sinc = d === 0 ? 2 * cutoff : Math.sin(x) / (Math.PI * d);
  return (sinc * besselI0(beta * Math.sqrt(1 - r * r))) / i0Beta;
}

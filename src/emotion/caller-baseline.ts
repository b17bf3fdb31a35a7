/**
 * Output-level caller baseline (issue 14): the model's outputs on this caller's own speech so far in the
 * call tell how the model hears this voice and line on average; a new window's log-probabilities are
 * corrected by how far that average sits from the model's average on its training speech, so a voice the
 * model hears as "always a bit fearful" is not reported as fearful all call long.
 *
 *   adjusted = log p - w(n) * d,   probs = softmax(adjusted)
 *   d  = mean over the caller's speech windows of log p  -  the training set's mean log p      ('logp')
 *      or log(mean p over the caller's speech windows)  -  log(the training set's mean p)     ('prob')
 *   w(n) = alpha * n / (n + k)   (k = 0: w = alpha from the first window of history)
 *
 * With no history (n = 0) the window's own probabilities are returned unchanged: cold start is today's
 * model by construction. The state is K running sums per call; no extra inference.
 * Measured with scripts/caller-baseline-windows.ts + scripts/caller-baseline-sim.ts (models/README.md).
 */

export type BaselineKind = 'none' | 'logp' | 'prob';

export interface BaselineVariant {
  name: string;
  kind: BaselineKind;
  alpha: number;
  /** Shrinkage: the correction's weight is alpha * n / (n + k); 0 for none. */
  k: number;
  /** Largest correction of any class (nats, after centring across classes); 0 for no limit. */
  cap: number;
}

/** What the correction is measured against: the model's average output on its training speech. */
export interface BaselineReference {
  meanLogp: readonly number[];
  meanP: readonly number[];
}

export interface BaselineHistory {
  n: number;
  sumLogp: ArrayLike<number>;
  sumP: ArrayLike<number>;
}

function v(kind: BaselineKind, alpha: number, k: number, cap = 0): BaselineVariant {
  return { name: kind === 'none' ? 'none' : `${kind} a=${alpha}${k ? ` k=${k}` : ''}${cap ? ` cap=${cap}` : ''}`, kind, alpha, k, cap };
}

/** Every variant the measurement script tries. */
export const BASELINE_VARIANTS: BaselineVariant[] = [
  v('none', 0, 0),
  v('logp', 0.1, 0),
  v('logp', 0.25, 0),
  v('logp', 0.25, 10),
  v('logp', 1, 10, 0.25),
  v('logp', 1, 10, 0.5),
  v('logp', 0.5, 0),
  v('logp', 0.75, 0),
  v('logp', 1, 0),
  v('logp', 0.75, 5),
  v('logp', 1, 5),
  v('logp', 1, 10),
  v('logp', 1, 20),
  v('prob', 0.5, 0),
  v('prob', 0.75, 0),
  v('prob', 1, 0),
  v('prob', 1, 5),
  v('prob', 1, 10),
  v('prob', 0.25, 0),
  v('prob', 0.25, 10),
  v('prob', 1, 10, 0.25),
  v('prob', 1, 10, 0.5),
];

/** The correction (nats per class) to subtract from a window's log-probabilities; all zeros with no history. */
export function baselineCorrection(hist: BaselineHistory, ref: BaselineReference, variant: BaselineVariant, out: Float64Array): Float64Array {
  out.fill(0);
  const n = hist.n;
  if (n === 0 || variant.kind === 'none' || variant.alpha === 0) return out;
  const w = variant.alpha * (variant.k > 0 ? n / (n + variant.k) : 1);
  for (let i = 0; i < out.length; i++) {
    const d =
      variant.kind === 'logp'
        ? hist.sumLogp[i]! / n - ref.meanLogp[i]!
        : Math.log(Math.max(hist.sumP[i]! / n, 1e-12)) - Math.log(ref.meanP[i]!);
    out[i] = w * d;
  }
  if (variant.cap > 0) {
    // Softmax ignores a constant shift: centre, then limit how far any class can be moved.
    let mean = 0;
    for (let i = 0; i < out.length; i++) mean += out[i]! / out.length;
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-variant.cap, Math.min(variant.cap, out[i]! - mean));
  }
  return out;
}

/** A window's adjusted log-probabilities (unnormalised): its own log p when there is no history. */
export function applyBaseline(logp: ArrayLike<number>, hist: BaselineHistory, ref: BaselineReference, variant: BaselineVariant): number[] {
  const corr = baselineCorrection(hist, ref, variant, new Float64Array(logp.length));
  return Array.from({ length: logp.length }, (_, i) => logp[i]! - corr[i]!);
}

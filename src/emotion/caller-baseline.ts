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
 *
 * Unfamiliar voices are softened: every probability the product reports for a caller is the window's
 * log p divided by T = 1 + slope * max(0, d - onset), d the caller's mean familiarity distance over their
 * speech windows so far (this one included), shrunk towards a typical CREMA-D caller's by `priorWindows`
 * so a call's first window or two alone soften little. The model is more confident on voices unlike
 * CREMA-D than on CREMA-D (models/README.md), so without this its thresholds fire most where it knows
 * least. A temperature keeps each window's ranking; only confidence moves. The caller-relative `adjusted`
 * probabilities are softened by the same temperature, so they still equal `probs` until there is history.
 *
 * Measured with scripts/caller-baseline-windows.ts + scripts/caller-baseline-sim.ts (the baseline) and
 * scripts/familiarity-calibration.py (the softening); figures in models/README.md.
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

/** T = 1 + slope * max(0, d - onset), d = (caller's summed familiarity distances + priorWindows * priorDistance) / (n + priorWindows). */
export interface Softening {
  slope: number;
  onset: number;
  priorWindows: number;
  priorDistance: number;
}

function softmaxInPlace(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] = Math.exp(x[i]! - max);
  for (let i = 0; i < x.length; i++) x[i]! /= sum;
  return x;
}

/** What a model card's `callerBaseline` entry gives the product (models/ser-cnn.json). */
export interface CallerModel {
  variant: BaselineVariant;
  reference: BaselineReference;
  familiarity: {
    /** Class means and shared inverse covariance of the centred log-probabilities (first K-1 dimensions). */
    means: number[][];
    inverseCovariance: number[][];
    /** Distances at the quantiles 0, 1/(Q-1), ..., 1 of the validation calls. */
    quantiles: number[];
    /** Speech windows before familiarity is reported (NaN before). */
    minWindows: number;
  } | null;
  /** How unfamiliar voices are softened; null: never (needs `familiarity`). */
  softening: Softening | null;
}

/** The card's `callerBaseline` entry, or null when the model has none (adjusted = raw, no familiarity). */
export function callerModelFromCard(card: { labels: readonly string[]; callerBaseline?: unknown }): CallerModel | null {
  const cb = card.callerBaseline as
    | {
        variant?: Partial<BaselineVariant>;
        reference?: BaselineReference;
        familiarity?: CallerModel['familiarity'];
        softening?: Partial<Softening>;
      }
    | undefined;
  if (!cb || !cb.variant || !cb.reference) return null;
  const k = card.labels.length;
  const { kind = 'prob', alpha = 1, k: shrink = 0, cap = 0 } = cb.variant;
  if (cb.reference.meanP?.length !== k || cb.reference.meanLogp?.length !== k) return null;
  const f = cb.familiarity;
  const famOk = !!f && f.means?.length === k && f.means.every((m) => m.length === k - 1) && f.inverseCovariance?.length === k - 1 && f.quantiles?.length >= 2;
  return {
    variant: { name: `${kind} a=${alpha} k=${shrink}`, kind, alpha, k: shrink, cap },
    reference: cb.reference,
    familiarity: famOk ? f! : null,
    softening: famOk ? softeningOf(cb.softening) : null,
  };
}

function softeningOf(s: Partial<Softening> | undefined): Softening | null {
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!s || !finite(s.slope) || s.slope < 0 || !finite(s.onset) || !finite(s.priorWindows) || s.priorWindows < 0 || !finite(s.priorDistance)) return null;
  return { slope: s.slope, onset: s.onset, priorWindows: s.priorWindows, priorDistance: s.priorDistance };
}

/**
 * One caller's baseline: running sums over the caller's speech windows (K log-probs, K probs, one
 * familiarity distance): O(K) memory per call, no extra inference. Feed it only windows the VAD judged speech.
 */
export class CallerBaseline {
  readonly #model: CallerModel | null;
  readonly #k: number;
  readonly #sumLogp: Float64Array;
  readonly #sumP: Float64Array;
  readonly #corr: Float64Array;
  readonly #centred: Float64Array;
  #n = 0;
  #sumDist = 0;

  constructor(labels: number, model: CallerModel | null) {
    this.#model = model;
    this.#k = labels;
    this.#sumLogp = new Float64Array(labels);
    this.#sumP = new Float64Array(labels);
    this.#corr = new Float64Array(labels);
    this.#centred = new Float64Array(labels);
  }

  /** Speech windows in the baseline. */
  get windows(): number {
    return this.#n;
  }

  /**
   * A window's probabilities corrected by the baseline heard BEFORE it (call before `add`). With no
   * history, or no baseline in the card, the window's own probabilities, copied unchanged.
   */
  adjust(probs: ArrayLike<number>, out: Float64Array): Float64Array {
    const k = this.#k;
    if (this.#n === 0 || !this.#model) {
      for (let i = 0; i < k; i++) out[i] = probs[i]!;
      return out;
    }
    baselineCorrection({ n: this.#n, sumLogp: this.#sumLogp, sumP: this.#sumP }, this.#model.reference, this.#model.variant, this.#corr);
    for (let i = 0; i < k; i++) out[i] = Math.log(Math.max(probs[i]!, 1e-12)) - this.#corr[i]!;
    return softmaxInPlace(out);
  }

  /**
   * The temperature that softens this caller's probabilities: 1 for a voice as familiar as CREMA-D's,
   * more the further the caller's outputs so far sit from what the model saw in training; 1 with no
   * speech yet or no softening in the card.
   */
  temperature(): number {
    const s = this.#model?.softening;
    if (!s || this.#n === 0) return 1;
    const d = (this.#sumDist + s.priorWindows * s.priorDistance) / (this.#n + s.priorWindows);
    return 1 + s.slope * Math.max(0, d - s.onset);
  }

  /**
   * `probs` softened by `temperature()`: call after `add`-ing the window, so its own distance counts.
   * `out` may be `probs` itself.
   */
  soften(probs: ArrayLike<number>, out: Float64Array): Float64Array {
    const t = this.temperature();
    const k = this.#k;
    if (t === 1) {
      for (let i = 0; i < k; i++) out[i] = probs[i]!;
      return out;
    }
    for (let i = 0; i < k; i++) out[i] = Math.log(Math.max(probs[i]!, 1e-12)) / t;
    return softmaxInPlace(out);
  }

  /** Adds a speech window's raw probabilities to the baseline. */
  add(probs: ArrayLike<number>): void {
    for (let i = 0; i < this.#k; i++) {
      const p = Math.max(probs[i]!, 1e-12);
      this.#sumLogp[i]! += Math.log(p);
      this.#sumP[i]! += p;
    }
    this.#n++;
    if (this.#model?.familiarity) this.#sumDist += this.#distance(probs);
  }

  /**
   * How familiar the voice and line are to the model, 0..1: the share of CREMA-D validation callers that
   * looked at least this unusual to it (mean class-conditional Mahalanobis distance of the caller's output).
   * NaN before `minWindows` speech windows, or when the card has no familiarity reference.
   */
  familiarity(): number {
    const f = this.#model?.familiarity;
    if (!f || this.#n < f.minWindows) return Number.NaN;
    const d = this.#sumDist / this.#n;
    const q = f.quantiles;
    if (d <= q[0]!) return 1;
    if (d >= q[q.length - 1]!) return 0;
    let i = 1;
    while (q[i]! < d) i++;
    const lo = q[i - 1]!;
    const hi = q[i]!;
    const cdf = (i - 1 + (hi > lo ? (d - lo) / (hi - lo) : 0)) / (q.length - 1);
    return 1 - cdf;
  }

  /** min over classes of the squared Mahalanobis distance of the window's centred log-probs. */
  #distance(probs: ArrayLike<number>): number {
    const f = this.#model!.familiarity!;
    const k = this.#k;
    const x = this.#centred;
    let mean = 0;
    for (let i = 0; i < k; i++) mean += (x[i] = Math.log(Math.max(probs[i]!, 1e-12))) / k;
    let best = Infinity;
    for (const mu of f.means) {
      let d2 = 0;
      for (let a = 0; a < k - 1; a++) {
        let row = 0;
        for (let b = 0; b < k - 1; b++) row += f.inverseCovariance[a]![b]! * (x[b]! - mean - mu[b]!);
        d2 += (x[a]! - mean - mu[a]!) * row;
      }
      if (d2 < best) best = d2;
    }
    return best;
  }
}

import { EventEmitter } from 'eventemitter3';
import type { EmotionLabel } from '../inference/model-card.js';
import { CallerBaseline, type CallerModel } from './caller-baseline.js';

/** Labels whose probability mass makes up negativity: the signals a contact centre acts on. */
export const NEGATIVE_LABELS: readonly EmotionLabel[] = ['ANG', 'DIS', 'FEA', 'SAD'];
/** High-arousal labels, for rules that care about agitation rather than valence. */
export const AROUSED_LABELS: readonly EmotionLabel[] = ['ANG', 'FEA', 'HAP'];

export type Probs = Record<string, number>;

export interface WindowObservation {
  /** Position of the window in the call's audio, seconds from the start of the tap. */
  start: number;
  end: number;
  speechRatio: number;
  dbfs: number;
  /** Model output in the card's label order; null when the window had too little speech to classify. */
  probs: Float32Array | null;
  /** When the window's last sample arrived (performance.now()), for latency. */
  completedAt: number;
}

export interface EmotionUpdate {
  callId: string;
  seq: number;
  start: number;
  end: number;
  speech: boolean;
  speechRatio: number;
  loudnessDbfs: number;
  /**
   * Smoothed probabilities keyed by label. Every probability here is the model's, softened for a voice
   * unfamiliar to the model (caller-baseline.ts `soften`); unchanged for voices like its training speech.
   */
  probs: Probs;
  /** This window's own (softened) probabilities, or null for a window without speech. */
  raw: Probs | null;
  dominant: string;
  confidence: number;
  negativity: number;
  arousal: number;
  /**
   * Smoothed probabilities corrected by this caller's own baseline (src/emotion/caller-baseline.ts): how
   * this caller sounds relative to how the caller has sounded so far. Equal to `probs` until the baseline has
   * a window. Relative: a caller angry all call long fades toward their own average here, so absolute
   * rules read `probs` (models/README.md, caller baseline).
   */
  adjusted: Probs;
  /** ANG + DIS + FEA + SAD of `adjusted`. */
  adjustedNegativity: number;
  /** Speech windows in the caller's baseline (this window included). */
  baselineWindows: number;
  /** Mean negativity of the caller's speech windows so far, as reported (softened; NaN before the first). */
  baselineNegativity: number;
  /** How familiar the voice and line are to the model, 0..1 (NaN until enough speech; caller-baseline.ts). */
  familiarity: number;
  /** Windows classified so far in this call. */
  classified: number;
  /** From the window's last sample to this update. */
  latencyMs: number;
}

export interface TrackerEvents {
  emotion: [update: EmotionUpdate];
}

/**
 * Per-call state: exponentially smoothed class probabilities over the windows that had speech.
 * Windows without speech leave the estimate unchanged and are reported with `speech: false`, so a
 * consumer still hears from the call every hop.
 */
export class EmotionTracker extends EventEmitter<TrackerEvents> {
  readonly callId: string;
  readonly #labels: readonly string[];
  readonly #alpha: number;
  readonly #smoothed: Float64Array;
  readonly #smoothedAdj: Float64Array;
  readonly #adj: Float64Array;
  readonly #soft: Float64Array;
  readonly #sumSoft: Float64Array;
  readonly #baseline: CallerBaseline;
  readonly #negIdx: number[];
  readonly #arousedIdx: number[];
  #seq = 0;
  #classified = 0;
  #last: EmotionUpdate | null = null;

  constructor(callId: string, labels: readonly string[], smoothing: number, caller: CallerModel | null = null) {
    super();
    this.callId = callId;
    this.#labels = labels;
    this.#alpha = smoothing;
    this.#smoothed = new Float64Array(labels.length).fill(1 / labels.length);
    this.#smoothedAdj = new Float64Array(labels.length).fill(1 / labels.length);
    this.#adj = new Float64Array(labels.length);
    this.#soft = new Float64Array(labels.length);
    this.#sumSoft = new Float64Array(labels.length);
    this.#baseline = new CallerBaseline(labels.length, caller);
    this.#negIdx = indicesOf(labels, NEGATIVE_LABELS);
    this.#arousedIdx = indicesOf(labels, AROUSED_LABELS);
  }

  get last(): EmotionUpdate | null {
    return this.#last;
  }

  observe(obs: WindowObservation): EmotionUpdate {
    let raw: Probs | null = null;
    if (obs.probs) {
      const a = this.#classified === 0 ? 1 : this.#alpha;
      // Corrected by the baseline heard before this window, then the window joins the baseline; both are
      // softened by how unfamiliar the caller's voice is, this window included.
      this.#baseline.adjust(obs.probs, this.#adj);
      this.#baseline.add(obs.probs);
      this.#baseline.soften(obs.probs, this.#soft);
      this.#baseline.soften(this.#adj, this.#adj);
      for (let i = 0; i < this.#smoothed.length; i++) {
        this.#smoothed[i] = (1 - a) * this.#smoothed[i]! + a * this.#soft[i]!;
        this.#smoothedAdj[i] = (1 - a) * this.#smoothedAdj[i]! + a * this.#adj[i]!;
        this.#sumSoft[i]! += this.#soft[i]!;
      }
      this.#classified++;
      raw = keyed(this.#labels, this.#soft);
    }
    let dominant = 0;
    for (let i = 1; i < this.#smoothed.length; i++) if (this.#smoothed[i]! > this.#smoothed[dominant]!) dominant = i;
    const update: EmotionUpdate = {
      callId: this.callId,
      seq: ++this.#seq,
      start: obs.start,
      end: obs.end,
      speech: obs.probs !== null,
      speechRatio: obs.speechRatio,
      loudnessDbfs: obs.dbfs,
      probs: keyed(this.#labels, this.#smoothed),
      raw,
      dominant: this.#labels[dominant]!,
      confidence: this.#smoothed[dominant]!,
      negativity: sumAt(this.#smoothed, this.#negIdx),
      arousal: sumAt(this.#smoothed, this.#arousedIdx),
      adjusted: keyed(this.#labels, this.#smoothedAdj),
      adjustedNegativity: sumAt(this.#smoothedAdj, this.#negIdx),
      baselineWindows: this.#baseline.windows,
      baselineNegativity: this.#classified > 0 ? sumAt(this.#sumSoft, this.#negIdx) / this.#classified : Number.NaN,
      familiarity: this.#baseline.familiarity(),
      classified: this.#classified,
      latencyMs: performance.now() - obs.completedAt,
    };
    this.#last = update;
    this.emit('emotion', update);
    return update;
  }
}

function indicesOf(labels: readonly string[], wanted: readonly string[]): number[] {
  return wanted.map((l) => labels.indexOf(l)).filter((i) => i >= 0);
}

function sumAt(values: ArrayLike<number>, idx: number[]): number {
  let s = 0;
  for (const i of idx) s += values[i]!;
  return s;
}

function keyed(labels: readonly string[], values: ArrayLike<number>): Probs {
  const out: Probs = {};
  labels.forEach((l, i) => {
    out[l] = values[i]!;
  });
  return out;
}

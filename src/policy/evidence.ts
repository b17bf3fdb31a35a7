import type { EmotionUpdate } from '../emotion/tracker.js';
import type { EvidencePoint } from '../events/types.js';

/**
 * The last N updates of one call, kept as EvidencePoints: what an action event and its log line
 * carry as "the scores that caused it". Fixed capacity, overwritten in place.
 */
export class EvidenceRing {
  readonly #points: (EvidencePoint | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#points = new Array<EvidencePoint | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(update: EmotionUpdate): void {
    this.#points[this.#next] = {
      t: update.end,
      probs: { ...update.probs },
      negativity: update.negativity,
      loudnessDbfs: update.loudnessDbfs,
      speechRatio: update.speechRatio,
    };
    this.#next = (this.#next + 1) % this.#points.length;
    this.#size = Math.min(this.#size + 1, this.#points.length);
  }

  /** Oldest first; only points at or after `since` (seconds of tapped audio) when given. */
  points(since = Number.NEGATIVE_INFINITY): EvidencePoint[] {
    const out: EvidencePoint[] = [];
    const cap = this.#points.length;
    for (let k = 0; k < this.#size; k++) {
      const p = this.#points[(this.#next - this.#size + k + cap) % cap]!;
      if (p.t >= since) out.push(p);
    }
    return out;
  }
}

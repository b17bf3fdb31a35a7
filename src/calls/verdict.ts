import type { EmotionUpdate } from '../emotion/tracker.js';

interface Book {
  latest: EmotionUpdate | null;
  sums: Record<string, number>;
  speechWindows: number;
  peakNegativity: number | null;
}

export interface VerdictOptions {
  escalateNegativity: number;
  escalatePriority: number;
}

/**
 * The current verdict per call, as the dialplan reads it at `Stasis(ser,decide)`, and the running
 * totals for the call's summary. Fed by the audio path's emotion updates.
 */
export class VerdictBook {
  readonly #books = new Map<string, Book>();
  readonly #o: VerdictOptions;

  constructor(opts: VerdictOptions) {
    this.#o = opts;
  }

  observe(u: EmotionUpdate): void {
    let b = this.#books.get(u.callId);
    if (!b) {
      b = { latest: null, sums: {}, speechWindows: 0, peakNegativity: null };
      this.#books.set(u.callId, b);
    }
    b.latest = u;
    if (u.speech && u.raw) {
      b.speechWindows++;
      for (const [label, p] of Object.entries(u.raw)) b.sums[label] = (b.sums[label] ?? 0) + p;
      b.peakNegativity = Math.max(b.peakNegativity ?? 0, u.negativity);
    }
  }

  latest(callId: string): EmotionUpdate | null {
    return this.#books.get(callId)?.latest ?? null;
  }

  /**
   * SER_EMOTION (dominant label, or "unknown" before any speech was classified), SER_NEGATIVITY
   * (0.00-1.00), SER_ESCALATE (1/0) and QUEUE_PRIO (the rules' priority when they set one, else
   * ari.escalatePriority for an escalated call, else 0).
   */
  variables(callId: string, rulesPriority: number | null): Record<string, string> {
    const u = this.#books.get(callId)?.latest;
    const known = u !== undefined && u !== null && u.classified > 0;
    // The decision uses the figure the dialplan reads, so SER_NEGATIVITY 0.70 never comes with
    // SER_ESCALATE 0 at a 0.70 threshold.
    const negativity = known ? Math.round(u.negativity * 100) / 100 : 0;
    const escalate = known && negativity >= this.#o.escalateNegativity;
    const prio = rulesPriority ?? (escalate ? this.#o.escalatePriority : 0);
    return {
      SER_EMOTION: known ? u.dominant : 'unknown',
      SER_NEGATIVITY: negativity.toFixed(2),
      SER_ESCALATE: escalate ? '1' : '0',
      QUEUE_PRIO: String(prio),
    };
  }

  /** Mean probabilities over the call's speech windows, dominant label and peak negativity; forgets the call. */
  close(callId: string): { meanProbs: Record<string, number> | null; dominant: string | null; peakNegativity: number | null } {
    const b = this.#books.get(callId);
    this.#books.delete(callId);
    if (!b || b.speechWindows === 0) return { meanProbs: null, dominant: null, peakNegativity: b?.peakNegativity ?? null };
    const meanProbs = Object.fromEntries(Object.entries(b.sums).map(([k, v]) => [k, v / b.speechWindows]));
    const dominant = Object.entries(meanProbs).sort((x, y) => y[1] - x[1])[0]?.[0] ?? null;
    return { meanProbs, dominant, peakNegativity: b.peakNegativity };
  }
}

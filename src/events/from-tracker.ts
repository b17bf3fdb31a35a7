import type { EmotionUpdate } from '../emotion/tracker.js';
import type { EmotionEvent } from './types.js';

/** The bus input for a tracker update: what `emotion` events carry (the raw window probabilities stay in-process). */
export function emotionEventInput(update: EmotionUpdate): Omit<EmotionEvent, 'version' | 'ts'> {
  return {
    type: 'emotion',
    callId: update.callId,
    seq: update.seq,
    start: update.start,
    end: update.end,
    speech: update.speech,
    speechRatio: update.speechRatio,
    loudnessDbfs: update.loudnessDbfs,
    probs: update.probs,
    dominant: update.dominant,
    confidence: update.confidence,
    negativity: update.negativity,
    arousal: update.arousal,
    adjusted: update.adjusted,
    adjustedNegativity: update.adjustedNegativity,
    baselineWindows: update.baselineWindows,
    baselineNegativity: Number.isNaN(update.baselineNegativity) ? null : update.baselineNegativity,
    familiarity: Number.isNaN(update.familiarity) ? null : update.familiarity,
    latencyMs: update.latencyMs,
  };
}

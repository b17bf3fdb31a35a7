import { describe, expect, it } from 'vitest';
import { VerdictBook } from '../../src/calls/verdict.js';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';

function update(callId: string, probs: Record<string, number>, negativity: number, speech = true): EmotionUpdate {
  const dominant = Object.entries(probs).sort((a, b) => b[1] - a[1])[0]![0];
  return { callId, seq: 0, start: 0, end: 3, speech, speechRatio: 0.8, loudnessDbfs: -20, probs, raw: speech ? probs : null, dominant, confidence: 0.6, negativity, arousal: 0.5, adjusted: probs, adjustedNegativity: negativity, baselineWindows: speech ? 1 : 0, baselineNegativity: Number.NaN, familiarity: Number.NaN, classified: speech ? 1 : 0, latencyMs: 5 };
}

describe('VerdictBook', () => {
  const book = (): VerdictBook => new VerdictBook({ escalateNegativity: 0.7, escalatePriority: 10 });

  it('says unknown before any speech was classified', () => {
    const b = book();
    expect(b.variables('c', null)).toEqual({ SER_EMOTION: 'unknown', SER_NEGATIVITY: '0.00', SER_ESCALATE: '0', QUEUE_PRIO: '0' });
    b.observe(update('c', { NEU: 1 }, 0, false));
    expect(b.variables('c', null).SER_EMOTION).toBe('unknown');
  });

  it('escalates an angry caller, and the rules priority wins over the default one', () => {
    const b = book();
    b.observe(update('c', { ANG: 0.8, NEU: 0.2 }, 0.8));
    expect(b.variables('c', null)).toEqual({ SER_EMOTION: 'ANG', SER_NEGATIVITY: '0.80', SER_ESCALATE: '1', QUEUE_PRIO: '10' });
    expect(b.variables('c', 3).QUEUE_PRIO).toBe('3');
    b.observe(update('c', { ANG: 0.3, NEU: 0.7 }, 0.3));
    expect(b.variables('c', null)).toMatchObject({ SER_EMOTION: 'NEU', SER_ESCALATE: '0', QUEUE_PRIO: '0' });
  });

  it('decides on the negativity it shows: 0.696 reads 0.70 and escalates at a 0.70 threshold, 0.694 reads 0.69 and does not', () => {
    const b = book();
    b.observe(update('c', { ANG: 0.696, NEU: 0.304 }, 0.696));
    expect(b.variables('c', null)).toMatchObject({ SER_NEGATIVITY: '0.70', SER_ESCALATE: '1' });
    b.observe(update('c', { ANG: 0.694, NEU: 0.306 }, 0.694));
    expect(b.variables('c', null)).toMatchObject({ SER_NEGATIVITY: '0.69', SER_ESCALATE: '0' });
  });

  it('summarises the speech windows only and forgets the call on close', () => {
    const b = book();
    b.observe(update('c', { ANG: 0.9, NEU: 0.1 }, 0.9));
    b.observe(update('c', { ANG: 0.1, NEU: 0.9 }, 0.1, false));
    b.observe(update('c', { ANG: 0.3, NEU: 0.7 }, 0.3));
    const s = b.close('c');
    expect(s.meanProbs!.ANG).toBeCloseTo(0.6);
    expect(s.dominant).toBe('ANG');
    expect(s.peakNegativity).toBeCloseTo(0.9);
    expect(b.latest('c')).toBeNull();
  });
});

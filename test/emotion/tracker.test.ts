import { describe, expect, it } from 'vitest';
import { EmotionTracker, type EmotionUpdate } from '../../src/emotion/tracker.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];

function obs(probs: number[] | null, end = 3) {
  return { start: end - 3, end, speechRatio: probs ? 0.9 : 0, dbfs: -20, probs: probs ? Float32Array.from(probs) : null, completedAt: performance.now() };
}

describe('EmotionTracker', () => {
  it('takes the first classified window as is, then smooths with the configured weight', () => {
    const t = new EmotionTracker('c1', LABELS, 0.5);
    const a = t.observe(obs([0.7, 0.1, 0.05, 0.05, 0.05, 0.05]));
    expect(a.probs.ANG).toBeCloseTo(0.7, 6);
    const b = t.observe(obs([0.1, 0.1, 0.1, 0.1, 0.5, 0.1], 4));
    expect(b.probs.ANG).toBeCloseTo(0.4, 6);
    expect(b.probs.NEU).toBeCloseTo(0.275, 6);
    expect(b.raw?.NEU).toBeCloseTo(0.5, 6);
    expect(b.dominant).toBe('ANG');
    expect(b.confidence).toBeCloseTo(0.4, 6);
  });

  it('computes negativity as the ANG+DIS+FEA+SAD mass and arousal as ANG+FEA+HAP', () => {
    const t = new EmotionTracker('c1', LABELS, 1);
    const u = t.observe(obs([0.3, 0.2, 0.1, 0.15, 0.15, 0.1]));
    expect(u.negativity).toBeCloseTo(0.7, 6);
    expect(u.arousal).toBeCloseTo(0.55, 6);
  });

  it('follows the label order of the model card, whatever it is', () => {
    const t = new EmotionTracker('c1', ['NEU', 'ANG', 'SAD', 'HAP', 'FEA', 'DIS'], 1);
    const u = t.observe(obs([0.1, 0.6, 0.1, 0.1, 0.05, 0.05]));
    expect(u.dominant).toBe('ANG');
    expect(u.negativity).toBeCloseTo(0.8, 6);
  });

  it('reports a window without speech without moving the estimate', () => {
    const t = new EmotionTracker('c1', LABELS, 0.5);
    const seen: EmotionUpdate[] = [];
    t.on('emotion', (u) => seen.push(u));
    t.observe(obs([0.1, 0.1, 0.1, 0.1, 0.5, 0.1]));
    const silent = t.observe(obs(null, 4));
    expect(silent.speech).toBe(false);
    expect(silent.raw).toBeNull();
    expect(silent.probs).toEqual(seen[0]!.probs);
    expect(silent.classified).toBe(1);
    expect(seen.map((u) => u.seq)).toEqual([1, 2]);
  });

  it('starts from a uniform estimate before any speech', () => {
    const t = new EmotionTracker('c1', LABELS, 0.5);
    const u = t.observe(obs(null));
    for (const l of LABELS) expect(u.probs[l]).toBeCloseTo(1 / 6, 6);
    expect(u.classified).toBe(0);
  });
});

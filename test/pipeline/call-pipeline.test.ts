import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { CallPipeline } from '../../src/pipeline/call-pipeline.js';
import { MODEL } from '../helpers/paths.js';

/** 20 ms frames of syllable-like voiced sound at `dbfs`, or silence. */
function frames(seconds: number, voiced: boolean): Float32Array[] {
  const out: Float32Array[] = [];
  for (let f = 0; f < seconds * 50; f++) {
    out.push(
      Float32Array.from({ length: 160 }, (_, i) => {
        if (!voiced) return 0;
        const t = (f * 160 + i) / 8000;
        return 0.15 * Math.max(0, Math.sin(2 * Math.PI * 3 * t)) * Math.sin(2 * Math.PI * 150 * t);
      }),
    );
  }
  return out;
}

describe('CallPipeline', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 5 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('classifies windows with speech, reports silent ones without inference, in window order', async () => {
    const p = new CallPipeline('c1', engine, { minSpeechRatio: 0.25, smoothing: 0.5, maxBacklog: 100 });
    const updates: EmotionUpdate[] = [];
    p.on('emotion', (u) => updates.push(u));
    for (const f of [...frames(4, true), ...frames(4, false)]) p.push(f, f.length);
    await p.drain();
    expect(updates.map((u) => u.end)).toEqual([3, 4, 5, 6, 7, 8]);
    // the window 3-6 s still holds 1 s of talking (speechRatio 0.33 >= 0.25); 4-7 s none
    expect(updates.map((u) => u.speech)).toEqual([true, true, true, true, false, false]);
    expect(p.stats).toMatchObject({ windows: 6, classified: 4, silent: 2, dropped: 0 });
    expect(updates[5]!.probs).toEqual(updates[3]!.probs); // silence leaves the estimate alone
  });

  it('drops (and counts) windows rather than queue behind a backlog, so updates stay current', async () => {
    const p = new CallPipeline('c2', engine, { minSpeechRatio: 0.25, smoothing: 0.5, maxBacklog: 0 });
    const updates: EmotionUpdate[] = [];
    p.on('emotion', (u) => updates.push(u));
    for (const f of frames(5, true)) p.push(f, f.length);
    await p.drain();
    expect(p.stats).toMatchObject({ windows: 3, dropped: 3, classified: 0 });
    expect(updates).toEqual([]);
  });

  it('emits nothing after close, even for windows already in inference', async () => {
    const p = new CallPipeline('c3', engine, { minSpeechRatio: 0.25, smoothing: 0.5, maxBacklog: 100 });
    const updates: EmotionUpdate[] = [];
    p.on('emotion', (u) => updates.push(u));
    for (const f of frames(3, true)) p.push(f, f.length);
    p.close();
    await p.drain();
    expect(updates).toEqual([]);
  });
});

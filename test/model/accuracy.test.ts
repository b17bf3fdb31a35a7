import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../../src/audio/wav.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { loadModelCard, type ModelCard } from '../../src/inference/model-card.js';
import { CLIPS, CREMA_D, HAVE_CREMA_D, MODEL } from '../helpers/paths.js';

interface Row {
  file: string;
  actor: string;
  emotion: string;
}

function manifest(): Row[] {
  const [head, ...lines] = readFileSync(join(CREMA_D, 'manifest.csv'), 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => {
    const v = l.split(',');
    return { file: v[cols.indexOf('file')]!, actor: v[cols.indexOf('actor')]!, emotion: v[cols.indexOf('emotion')]! };
  });
}

/**
 * The shipped model, evaluated through the product's own WAV/G.711 decode and inference engine on the
 * held-out test actors named in its card, must reproduce the card's figures.
 */
describe.skipIf(!HAVE_CREMA_D)('shipped model on the held-out test actors', () => {
  let engine: InferenceEngine;
  let card: ModelCard & { split?: { test: string[] }; trainingData?: { excluded: string[] } };
  beforeAll(async () => {
    card = loadModelCard(MODEL) as typeof card;
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 2, maxBatch: 16, maxWaitMs: 2 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('agrees with its card on labels, rate and window', () => {
    expect(card.labels).toEqual(engine.labels);
    expect(card.sampleRate).toBe(8000);
    expect(card.windowSeconds).toBe(3);
    expect(card.split?.test.length).toBeGreaterThanOrEqual(12);
  });

  it('reaches the card\'s accuracy (within 1.5 points) with every class recall >= 0.35', async () => {
    const test = new Set(card.split!.test);
    const excluded = new Set(card.trainingData!.excluded);
    const rows = manifest().filter((r) => test.has(r.actor) && !excluded.has(r.file));
    const labels = engine.labels;
    const confusion = labels.map(() => labels.map(() => 0));
    // Whole clips, each its own length, as the card's evaluation; a few in flight to use both workers.
    for (let i = 0; i < rows.length; i += 32) {
      const chunk = rows.slice(i, i + 32);
      const results = await Promise.all(chunk.map((r) => engine.infer(parseWav(readFileSync(join(CLIPS, r.file))).channels[0]!)));
      results.forEach(({ probs }, k) => {
        let top = 0;
        for (let j = 1; j < probs.length; j++) if (probs[j]! > probs[top]!) top = j;
        confusion[labels.indexOf(chunk[k]!.emotion)]![top]!++;
      });
    }
    const correct = labels.reduce((s, _, i) => s + confusion[i]![i]!, 0);
    const accuracy = correct / rows.length;
    const expected = card.metrics!.test.accuracy;
    const cardSupport = Object.values(card.metrics!.test.perClass).reduce((n, c) => n + c.support, 0);
    expect(rows.length, 'the clips evaluated are the card\'s test set').toBe(cardSupport);
    expect(accuracy).toBeGreaterThanOrEqual(expected - 0.015);
    labels.forEach((l, i) => {
      const recall = confusion[i]![i]! / confusion[i]!.reduce((a, b) => a + b, 0);
      expect(recall, `${l} recall`).toBeGreaterThanOrEqual(0.35);
    });
  });
});

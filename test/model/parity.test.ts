import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../../src/audio/wav.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { CLIPS, HAVE_CREMA_D, MODEL } from '../helpers/paths.js';

interface Parity {
  clips: { file: string; probs: number[] }[];
  synthetic: { audio: number[]; probs: number[] };
}

const parity = JSON.parse(readFileSync(MODEL.replace(/\.onnx$/, '.parity.json'), 'utf8')) as Parity;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('onnxruntime-node matches PyTorch (parity fixture written by the training script)', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 1 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('on a synthetic signal, within 1e-4', async () => {
    const { probs } = await engine.infer(Float32Array.from(parity.synthetic.audio));
    expect(maxAbsDiff(probs, parity.synthetic.probs)).toBeLessThan(1e-4);
  });

  it.skipIf(!HAVE_CREMA_D)(`on ${parity.clips.length} test-actor clips decoded by our own G.711 path, within 1e-4`, async () => {
    expect(parity.clips.length).toBeGreaterThanOrEqual(8);
    for (const clip of parity.clips) {
      const wav = parseWav(readFileSync(join(CLIPS, clip.file)));
      const { probs } = await engine.infer(wav.channels[0]!);
      expect(maxAbsDiff(probs, clip.probs), clip.file).toBeLessThan(1e-4);
    }
  });
});

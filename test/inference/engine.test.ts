import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SerError } from '../../src/errors.js';
import { InferenceEngine, type BatchStats } from '../../src/inference/engine.js';
import { MODEL } from '../helpers/paths.js';

const OPTS = { workers: 2, maxBatch: 16, maxWaitMs: 5 };

function speechLike(seconds: number, f0: number, seed: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * 8000));
  let s = seed;
  for (let n = 0; n < out.length; n++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const t = n / 8000;
    let v = 0;
    for (let h = 1; h <= 10; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    out[n] = 0.1 * Math.max(0, Math.sin(2 * Math.PI * 3 * t)) * v + 0.002 * ((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

async function openError(modelPath: string): Promise<SerError> {
  try {
    const e = await InferenceEngine.open({ ...OPTS, workers: 1, modelPath });
    await e.close();
  } catch (err) {
    if (err instanceof SerError) return err;
    throw err;
  }
  throw new Error('expected open() to fail');
}

/** A copy of the shipped model with its card edited. */
function variant(edit: (card: Record<string, unknown>) => void, onnx?: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'ser-model-'));
  const path = join(dir, 'm.onnx');
  if (onnx) writeFileSync(path, onnx);
  else copyFileSync(MODEL, path);
  const card = JSON.parse(readFileSync(MODEL.replace(/\.onnx$/, '.json'), 'utf8')) as Record<string, unknown>;
  edit(card);
  writeFileSync(join(dir, 'm.json'), JSON.stringify(card));
  return path;
}

describe('InferenceEngine with the shipped model', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ ...OPTS, modelPath: MODEL });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('takes window, hop and labels from the card', () => {
    expect(engine.labels).toEqual(['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD']);
    expect(engine.windowSamples).toBe(24000);
    expect(engine.hopSamples).toBe(8000);
  });

  it('returns one probability per label, summing to 1', async () => {
    const { probs } = await engine.infer(speechLike(3, 140, 1));
    expect(probs).toHaveLength(6);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it('batches concurrent windows without changing any window\'s result', async () => {
    const windows = Array.from({ length: 40 }, (_, i) => speechLike(3, 100 + i * 5, i));
    const alone: Float32Array[] = [];
    for (const w of windows) alone.push((await engine.infer(w.slice())).probs);
    const batches: BatchStats[] = [];
    const onBatch = (b: BatchStats): void => void batches.push(b);
    engine.on('batch', onBatch);
    const together = await Promise.all(windows.map((w) => engine.infer(w.slice())));
    engine.off('batch', onBatch);
    expect(Math.max(...batches.map((b) => b.size))).toBe(16);
    expect(batches.reduce((n, b) => n + b.size, 0)).toBe(40);
    together.forEach((r, i) => {
      for (let k = 0; k < 6; k++) expect(Math.abs(r.probs[k]! - alone[i]![k]!)).toBeLessThan(1e-5);
    });
  });

  it('runs onnxruntime on its worker threads, never on the calling thread', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => engine.infer(speechLike(3, 120, i))));
    const threads = new Set(results.map((r) => r.threadId));
    expect(threads.has(threadId)).toBe(false);
    // both workers took part (least-busy dispatch)
    expect(threads.size).toBe(2);
  });

  it('rejects a window shorter than the model minimum', async () => {
    await expect(engine.infer(new Float32Array(100))).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
  });
});

describe('InferenceEngine: BAD MODEL gives a clear start-up error', () => {
  it('missing model file', async () => {
    const err = await openError('/nonexistent/model.onnx');
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toContain('/nonexistent/model.onnx');
  });

  it('missing card', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ser-model-'));
    copyFileSync(MODEL, join(dir, 'm.onnx'));
    expect((await openError(join(dir, 'm.onnx'))).code).toBe('MODEL_NOT_FOUND');
  });

  it('card with an unknown label', async () => {
    const err = await openError(variant((c) => (c.labels = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'BORED'])));
    expect(err.code).toBe('MODEL_CARD_INVALID');
    expect(err.message).toContain('labels');
  });

  it('file that differs from the card checksum', async () => {
    const bytes = new Uint8Array(readFileSync(MODEL));
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    const err = await openError(variant(() => undefined, bytes));
    expect(err.code).toBe('MODEL_CORRUPT');
  });

  it('garbage ONNX file with a card that has no checksum', async () => {
    const err = await openError(
      variant((c) => {
        delete c.sha256;
        delete c.fileBytes;
      }, new TextEncoder().encode('not an onnx graph at all')),
    );
    expect(err.code).toBe('MODEL_CORRUPT');
  });

  it('card with fewer labels than the model outputs', async () => {
    const err = await openError(variant((c) => (c.labels = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU'])));
    expect(err.code).toBe('MODEL_CARD_MISMATCH');
    expect(err.message).toMatch(/\[1, 6\].*\[1, 5\]/);
  });

  it('card naming an input the graph does not have', async () => {
    const err = await openError(variant((c) => (c.input = { name: 'pcm' })));
    expect(err.code).toBe('MODEL_CARD_MISMATCH');
    expect(err.message).toContain('pcm');
  });

  it('rejects work after close', async () => {
    const e = await InferenceEngine.open({ ...OPTS, workers: 1, modelPath: MODEL });
    const pending = expect(e.infer(speechLike(3, 150, 3))).rejects.toMatchObject({ code: 'INFERENCE_CLOSED' });
    await e.close();
    await pending;
    await expect(e.infer(speechLike(3, 150, 4))).rejects.toMatchObject({ code: 'INFERENCE_CLOSED' });
  });
});

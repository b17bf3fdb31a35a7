import { afterEach, describe, expect, it } from 'vitest';
import { OrtWorkerPool } from '../../src/inference/worker-pool.js';
import { MODEL } from '../helpers/paths.js';

const INIT = { modelPath: MODEL, inputName: 'audio', outputName: 'probs', intraOpThreads: 1 };
let pool: OrtWorkerPool | null = null;

afterEach(async () => {
  await pool?.close();
  pool = null;
});

const window = (): Float32Array => Float32Array.from({ length: 24000 }, (_, i) => 0.1 * Math.sin(i / 7));

describe('OrtWorkerPool', () => {
  it('fails the work of a worker that dies, restarts it, and keeps serving', async () => {
    pool = await OrtWorkerPool.start(INIT, 2);
    const died: number[] = [];
    pool.on('worker-died', ({ index }) => died.push(index));
    // Worker 0 is told to die, then work is queued on both: what went to worker 0 after the fatal
    // message is lost with it and must fail, not hang; worker 1's succeeds.
    const killed = pool.killWorker(0);
    const inflight = Array.from({ length: 8 }, () => pool!.run(window(), 1, 24000).then(() => 'ok', (e: { code?: string }) => e.code));
    await killed;
    const outcomes = await Promise.all(inflight);
    expect(outcomes).toContain('INFERENCE_FAILED');
    expect(outcomes).toContain('ok');
    expect(died).toEqual([0]);
    // the replacement loads the model again; meanwhile the other worker serves
    await expect(pool.run(window(), 1, 24000)).resolves.toMatchObject({ dims: [1, 6] });
    for (let i = 0; i < 100 && pool.alive < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pool.alive).toBe(2);
  });

  it('closes while busy: the runs in progress finish inside onnxruntime, the rest fail as closed, the process survives', async () => {
    pool = await OrtWorkerPool.start(INIT, 2);
    const busy = Array.from({ length: 16 }, () => pool!.run(Float32Array.from({ length: 24000 * 16 }, (_, i) => 0.1 * Math.sin(i / 7)), 16, 24000).then(() => 'ok', (e: { code?: string }) => e.code));
    await new Promise((r) => setTimeout(r, 5));
    await pool.close();
    const outcomes = await Promise.all(busy);
    expect(outcomes.every((o) => o === 'ok' || o === 'INFERENCE_CLOSED')).toBe(true);
    expect(outcomes).toContain('INFERENCE_CLOSED');
    await expect(pool.run(window(), 1, 24000)).rejects.toMatchObject({ code: 'INFERENCE_CLOSED' });
  });

  it('reports a failed run without losing the worker', async () => {
    pool = await OrtWorkerPool.start(INIT, 1);
    await expect(pool.run(new Float32Array(10), 1, 10)).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    await expect(pool.run(window(), 1, 24000)).resolves.toMatchObject({ dims: [1, 6] });
  });
});

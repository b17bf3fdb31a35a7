/**
 * One onnxruntime-node session per worker thread: `session.run()` blocks the thread it runs on for the
 * whole inference (measured in shared/notes/training-stack.md), so it must never run on the RTP thread.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { SileroBatch } from '../audio/silero.js';
import type { FromWorker, GateResult, ToWorker, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

let session: ort.InferenceSession;
let silero: SileroBatch | null = null;
try {
  session = await ort.InferenceSession.create(init.modelPath, {
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  if (init.vadModelPath) silero = await SileroBatch.open(ort, init.vadModelPath);
  post({ type: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
} catch (err) {
  post({ type: 'load-failed', message: (err as Error).message });
  process.exit(0);
}

// Runs one after another; a close waits for them. Ending the thread while onnxruntime is inside
// run() aborts the whole process (measured: "terminate called after throwing an instance of
// 'Napi::Error'" when the pool terminated busy workers under load).
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'crash') process.exit(1);
  if (msg.type === 'close') {
    queue = queue.then(async () => {
      await session.release();
      await silero?.release();
      process.exit(0);
    });
    return;
  }
  queue = queue.then(() => run(msg));
});

async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const started = performance.now();
  try {
    let gate: GateResult | undefined;
    let audio = msg.audio;
    let rows: number[] | null = null; // batch rows given to the emotion model, when the gate removed some
    if (msg.gate && silero) {
      const g = msg.gate;
      const flags = await silero.continueBatch(g.segments, g.offsets, g.chunks, g.state, g.context);
      let steps = 0;
      for (const c of g.chunks) steps = Math.max(steps, c);
      const passed = new Uint8Array(msg.batch);
      for (let b = 0; b < msg.batch; b++) {
        let speech = g.prevSpeech[b]!;
        for (let c = 0; c < g.chunks[b]!; c++) speech += flags[b * steps + c]!;
        const total = g.chunks[b]! + g.prevChunks[b]!;
        passed[b] = total === 0 || speech / total >= g.minShare ? 1 : 0;
      }
      gate = { flags, steps, state: g.state, context: g.context, passed, ms: performance.now() - started };
      if (passed.some((x) => x === 0)) {
        rows = [];
        for (let b = 0; b < msg.batch; b++) if (passed[b]) rows.push(b);
        audio = new Float32Array(rows.length * msg.samples);
        rows.forEach((b, i) => audio.set(msg.audio.subarray(b * msg.samples, (b + 1) * msg.samples), i * msg.samples));
      }
    }
    let probs: Float32Array;
    let dims: number[];
    if (rows && rows.length === 0) {
      probs = new Float32Array(0);
      dims = [0, 0];
    } else {
      const input = new ort.Tensor('float32', audio, [rows ? rows.length : msg.batch, msg.samples]);
      const out = await session.run({ [init.inputName]: input }, [init.outputName]);
      const tensor = out[init.outputName]!;
      probs = new Float32Array(tensor.data as Float32Array);
      dims = [...tensor.dims];
    }
    if (rows) {
      // Back to one row per window; a gated-out window's row is NaN.
      const k = dims[1] ?? 0;
      const full = new Float32Array(msg.batch * k).fill(Number.NaN);
      rows.forEach((b, i) => full.set(probs.subarray(i * k, (i + 1) * k), b * k));
      probs = full;
      dims = [msg.batch, k];
    }
    const transfer = [probs.buffer as ArrayBuffer];
    if (gate) transfer.push(gate.flags.buffer as ArrayBuffer, gate.passed.buffer as ArrayBuffer, gate.state.buffer as ArrayBuffer, gate.context.buffer as ArrayBuffer);
    post({ type: 'result', id: msg.id, probs, dims, ms: performance.now() - started, threadId, ...(gate ? { gate } : {}) }, transfer);
  } catch (err) {
    post({ type: 'run-failed', id: msg.id, message: (err as Error).message });
  }
}

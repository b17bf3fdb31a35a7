/**
 * One onnxruntime-node session per worker thread: `session.run()` blocks the thread it runs on for the
 * whole inference (measured in shared/notes/training-stack.md), so it must never run on the RTP thread.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

let session: ort.InferenceSession;
try {
  session = await ort.InferenceSession.create(init.modelPath, {
    intraOpNumThreads: init.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
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
      process.exit(0);
    });
    return;
  }
  queue = queue.then(() => run(msg));
});

async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const started = performance.now();
  try {
    const input = new ort.Tensor('float32', msg.audio, [msg.batch, msg.samples]);
    const out = await session.run({ [init.inputName]: input }, [init.outputName]);
    const tensor = out[init.outputName]!;
    const probs = new Float32Array(tensor.data as Float32Array);
    post({ type: 'result', id: msg.id, probs, dims: [...tensor.dims], ms: performance.now() - started, threadId }, [
      probs.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    post({ type: 'run-failed', id: msg.id, message: (err as Error).message });
  }
}

import type { Worker } from 'node:worker_threads';
import { EventEmitter } from 'eventemitter3';
import { SerError } from '../errors.js';
import type { FromWorker, GateRequest, GateResult, ToWorker, WorkerInit } from './protocol.js';
import { startWorker } from './worker-url.js';

export interface RunResult {
  probs: Float32Array;
  dims: number[];
  ms: number;
  /** The worker thread that ran it. */
  threadId: number;
  gate?: GateResult;
}

interface Pending {
  resolve(r: RunResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, Pending>;
  alive: boolean;
}

export interface WorkerPoolEvents {
  'worker-died': [info: { index: number; message: string }];
}

/** A fixed set of worker threads, one onnxruntime session each; work goes to the least busy one. */
export class OrtWorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #init: WorkerInit;
  readonly #slots: Slot[] = [];
  #nextId = 1;
  #closed = false;
  inputNames: string[] = [];
  outputNames: string[] = [];

  private constructor(init: WorkerInit) {
    super();
    this.#init = init;
  }

  static async start(init: WorkerInit, size: number): Promise<OrtWorkerPool> {
    const pool = new OrtWorkerPool(init);
    try {
      await Promise.all(Array.from({ length: size }, (_, i) => pool.#spawn(i)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.#slots.length;
  }

  get inflight(): number {
    let n = 0;
    for (const s of this.#slots) n += s.inflight.size;
    return n;
  }

  /** `audio` is transferred to the worker: the caller must not touch it afterwards. */
  run(audio: Float32Array, batch: number, samples: number, gate?: GateRequest): Promise<RunResult> {
    if (this.#closed) return Promise.reject(new SerError('INFERENCE_CLOSED', 'inference pool is closed'));
    let slot: Slot | undefined;
    for (const s of this.#slots) if (s.alive && (!slot || s.inflight.size < slot.inflight.size)) slot = s;
    if (!slot) return Promise.reject(new SerError('INFERENCE_FAILED', 'no inference worker is running'));
    const target = slot;
    const id = this.#nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      target.inflight.set(id, { resolve, reject });
      const msg: ToWorker = { type: 'run', id, audio, batch, samples, ...(gate ? { gate } : {}) };
      const transfer = [audio.buffer as ArrayBuffer];
      if (gate) transfer.push(gate.segments.buffer as ArrayBuffer, gate.state.buffer as ArrayBuffer, gate.context.buffer as ArrayBuffer);
      target.worker.postMessage(msg, transfer);
    });
  }

  /**
   * Fault injection for tests: worker `index` exits with code 1 as soon as it reads this, abandoning
   * the runs queued behind it, as a fatal error in the thread would. (Terminating the thread from
   * outside while onnxruntime is inside run() aborts the whole process, so that is not a test.)
   */
  killWorker(index: number): Promise<void> {
    const slot = this.#slots[index];
    return slot ? tellToExit(slot.worker, { type: 'crash' }) : Promise.resolve();
  }

  /** Workers able to take work. */
  get alive(): number {
    return this.#slots.filter((s) => s.alive).length;
  }

  /**
   * Fails the work still pending, then lets each worker finish the run it is in and release its
   * session before it exits: terminating a thread inside onnxruntime's run() aborts the process.
   * A worker that has not exited after `graceMs` is terminated.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const s of slots) this.#failAll(s, new SerError('INFERENCE_CLOSED', 'inference pool closed'));
    await Promise.all(
      slots.map(async (s) => {
        const exited = tellToExit(s.worker, { type: 'close' });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
        if ((await Promise.race([exited, late])) === 'late') await s.worker.terminate();
        clearTimeout(timer);
      }),
    );
  }

  #spawn(index: number): Promise<void> {
    const worker = startWorker(import.meta.url, 'ort-worker', { workerData: this.#init });
    const slot: Slot = { worker, inflight: new Map(), alive: false };
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            if (this.#closed) {
              // a replacement that finished loading after close(): nothing will use it
              void tellToExit(worker, { type: 'close' });
              resolve();
              return;
            }
            ready = true;
            slot.alive = true;
            this.inputNames = msg.inputNames;
            this.outputNames = msg.outputNames;
            this.#slots[index] = slot;
            resolve();
            return;
          case 'load-failed':
            reject(new SerError('MODEL_CORRUPT', `onnxruntime cannot load ${this.#init.modelPath}: ${msg.message}`));
            return;
          case 'result': {
            const p = slot.inflight.get(msg.id);
            slot.inflight.delete(msg.id);
            p?.resolve({ probs: msg.probs, dims: msg.dims, ms: msg.ms, threadId: msg.threadId, ...(msg.gate ? { gate: msg.gate } : {}) });
            return;
          }
          case 'run-failed': {
            const p = slot.inflight.get(msg.id);
            slot.inflight.delete(msg.id);
            p?.reject(new SerError('INFERENCE_FAILED', `inference failed: ${msg.message}`));
            return;
          }
        }
      });
      const died = (message: string): void => {
        if (!ready) {
          reject(new SerError('MODEL_CORRUPT', `inference worker failed while loading the model: ${message}`));
          return;
        }
        if (!slot.alive) return;
        slot.alive = false;
        this.#failAll(slot, new SerError('INFERENCE_FAILED', `inference worker ${index} died: ${message}`));
        if (this.#closed) return;
        this.emit('worker-died', { index, message });
        this.#spawn(index).catch(() => undefined);
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => {
        if (!this.#closed) died(`exited with code ${code}`);
      });
    });
  }

  #failAll(slot: Slot, err: Error): void {
    for (const p of slot.inflight.values()) p.reject(err);
    slot.inflight.clear();
  }
}

/** Sends a worker a message after which it exits; resolves when it has. */
function tellToExit(worker: Worker, msg: Extract<ToWorker, { type: 'close' | 'crash' }>): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage(msg);
  return exited;
}

import { resolve } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { SerError } from '../errors.js';
import { loadModelCard, type ModelCard } from './model-card.js';
import type { GateInput, GateOutcome } from '../audio/speech-gate.js';
import type { GateRequest } from './protocol.js';
import { OrtWorkerPool } from './worker-pool.js';

export interface InferenceEngineOptions {
  modelPath: string;
  workers: number;
  maxBatch: number;
  maxWaitMs: number;
  /**
   * Silero speech gate (src/audio/speech-gate.ts): windows sent with a GateInput reach the emotion model
   * only when at least `minShare` of their 32 ms chunks are speech. null/absent: no gate.
   */
  speechGate?: { modelPath: string; minShare: number } | null;
}

export interface InferenceResult {
  /** Calibrated probabilities in the card's label order (a fresh array per window). */
  probs: Float32Array;
  batchSize: number;
  /** Time inside onnxruntime for the whole batch this window rode in. */
  batchMs: number;
  /** From `infer()` to the batch leaving for a worker. */
  queuedMs: number;
  /** The worker thread whose onnxruntime session ran the batch. */
  threadId: number;
  /** The speech gate's verdict for a window sent with a GateInput (probs are NaN when it did not pass). */
  gate?: GateOutcome;
}

export interface BatchStats {
  size: number;
  samples: number;
  ms: number;
  queuedMs: number;
}

export interface InferenceEngineEvents {
  batch: [stats: BatchStats];
  'worker-died': [info: { index: number; message: string }];
}

interface Queued {
  samples: Float32Array;
  gate: GateInput | undefined;
  enqueuedAt: number;
  resolve(r: InferenceResult): void;
  reject(e: Error): void;
}

/**
 * The process's inference service: validates the model against its card, runs one onnxruntime session per
 * worker thread, and micro-batches windows from all calls (same-length windows only share a batch).
 */
export class InferenceEngine extends EventEmitter<InferenceEngineEvents> {
  readonly card: ModelCard;
  readonly modelPath: string;
  readonly #pool: OrtWorkerPool;
  readonly #opts: InferenceEngineOptions;
  readonly #queues = new Map<number, Queued[]>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #closed = false;

  private constructor(card: ModelCard, modelPath: string, pool: OrtWorkerPool, opts: InferenceEngineOptions) {
    super();
    this.card = card;
    this.modelPath = modelPath;
    this.#pool = pool;
    this.#opts = opts;
    pool.on('worker-died', (info) => this.emit('worker-died', info));
  }

  static async open(opts: InferenceEngineOptions): Promise<InferenceEngine> {
    const modelPath = resolve(opts.modelPath);
    const card = loadModelCard(modelPath);
    const pool = await OrtWorkerPool.start(
      { modelPath, inputName: card.input.name, outputName: card.output.name, intraOpThreads: 1, ...(opts.speechGate ? { vadModelPath: opts.speechGate.modelPath } : {}) },
      opts.workers,
    );
    const engine = new InferenceEngine(card, modelPath, pool, opts);
    try {
      engine.#checkGraphAgainstCard(pool);
      await engine.#probe();
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  get labels(): readonly string[] {
    return this.card.labels;
  }

  get windowSamples(): number {
    return Math.round(this.card.windowSeconds * this.card.sampleRate);
  }

  get hopSamples(): number {
    return Math.round(this.card.hopSeconds * this.card.sampleRate);
  }

  get minSamples(): number {
    return Math.round(this.card.minSeconds * this.card.sampleRate);
  }

  /** Windows queued or running. */
  get backlog(): number {
    let n = this.#pool.inflight;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Whether windows sent with a GateInput are gated by Silero. */
  get gated(): boolean {
    return !!this.#opts.speechGate;
  }

  infer(samples: Float32Array, gate?: GateInput): Promise<InferenceResult> {
    if (this.#closed) return Promise.reject(new SerError('INFERENCE_CLOSED', 'inference engine is closed'));
    if (samples.length < this.minSamples) {
      return Promise.reject(
        new SerError('INFERENCE_FAILED', `window of ${samples.length} samples is shorter than the model's minimum ${this.minSamples}`),
      );
    }
    return new Promise<InferenceResult>((resolvePromise, reject) => {
      const len = samples.length;
      let queue = this.#queues.get(len);
      if (!queue) this.#queues.set(len, (queue = []));
      queue.push({ samples, gate: this.#opts.speechGate ? gate : undefined, enqueuedAt: performance.now(), resolve: resolvePromise, reject });
      if (queue.length >= this.#opts.maxBatch) this.#flush(len);
      else if (!this.#timers.has(len)) this.#timers.set(len, setTimeout(() => this.#flush(len), this.#opts.maxWaitMs));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    const err = new SerError('INFERENCE_CLOSED', 'inference engine closed');
    for (const q of this.#queues.values()) for (const item of q) item.reject(err);
    this.#queues.clear();
    await this.#pool.close();
  }

  #flush(len: number): void {
    const timer = this.#timers.get(len);
    if (timer) clearTimeout(timer);
    this.#timers.delete(len);
    const queue = this.#queues.get(len);
    if (!queue || queue.length === 0) return;
    const items = queue.splice(0, this.#opts.maxBatch);
    if (queue.length > 0) this.#timers.set(len, setTimeout(() => this.#flush(len), 0));
    const audio = new Float32Array(items.length * len);
    items.forEach((item, i) => audio.set(item.samples, i * len));
    const sentAt = performance.now();
    const k = this.card.labels.length;
    const gate = this.#gateRequest(items);
    this.#pool.run(audio, items.length, len, gate).then(
      ({ probs, ms, threadId, gate: verdict }) => {
        const queuedMs = sentAt - items[0]!.enqueuedAt;
        this.emit('batch', { size: items.length, samples: len, ms, queuedMs });
        items.forEach((item, i) => {
          const passed = !verdict || verdict.passed[i] === 1;
          const outcome: GateOutcome | undefined =
            verdict && item.gate
              ? {
                  flags: verdict.flags,
                  offset: i * verdict.steps,
                  state: verdict.state.slice(i * 256, (i + 1) * 256),
                  context: verdict.context.slice(i * 32, (i + 1) * 32),
                  passed,
                }
              : undefined;
          item.resolve({
            probs: passed ? probs.slice(i * k, (i + 1) * k) : new Float32Array(k).fill(Number.NaN),
            batchSize: items.length,
            batchMs: ms,
            queuedMs: sentAt - item.enqueuedAt,
            threadId,
            ...(outcome ? { gate: outcome } : {}),
          });
        });
      },
      (err: Error) => {
        for (const item of items) item.reject(err);
      },
    );
  }

  #gateRequest(items: Queued[]): GateRequest | undefined {
    if (!this.#opts.speechGate || !items.some((x) => x.gate)) return undefined;
    const n = items.length;
    const offsets = new Int32Array(n);
    const chunks = new Int32Array(n);
    const prevSpeech = new Int32Array(n);
    const prevChunks = new Int32Array(n);
    const state = new Float32Array(n * 256);
    const context = new Float32Array(n * 32);
    let total = 0;
    items.forEach((x, i) => {
      offsets[i] = total;
      if (!x.gate) return;
      chunks[i] = x.gate.chunks;
      prevSpeech[i] = x.gate.prevSpeech;
      prevChunks[i] = x.gate.prevChunks;
      state.set(x.gate.state, i * 256);
      context.set(x.gate.context, i * 32);
      total += x.gate.segment.length;
    });
    const segments = new Float32Array(total);
    items.forEach((x, i) => x.gate && segments.set(x.gate.segment, offsets[i]!));
    return { segments, offsets, chunks, state, context, prevSpeech, prevChunks, minShare: this.#opts.speechGate.minShare };
  }

  #checkGraphAgainstCard(pool: OrtWorkerPool): void {
    const { input, output } = this.card;
    if (pool.inputNames.length !== 1 || pool.inputNames[0] !== input.name) {
      throw new SerError(
        'MODEL_CARD_MISMATCH',
        `model inputs [${pool.inputNames.join(', ')}] do not match the card's single input "${input.name}"`,
      );
    }
    if (!pool.outputNames.includes(output.name)) {
      throw new SerError(
        'MODEL_CARD_MISMATCH',
        `model outputs [${pool.outputNames.join(', ')}] do not include the card's output "${output.name}"`,
      );
    }
  }

  /** One silent window: the output must be [1, labels] probabilities. */
  async #probe(): Promise<void> {
    const n = this.windowSamples;
    const { probs, dims } = await this.#pool.run(new Float32Array(n), 1, n);
    const k = this.card.labels.length;
    if (dims.length !== 2 || dims[0] !== 1 || dims[1] !== k) {
      throw new SerError('MODEL_CARD_MISMATCH', `model output shape [${dims.join(', ')}] is not [1, ${k}] as the card's labels require`);
    }
    let sum = 0;
    for (const p of probs) {
      if (!(p >= 0 && p <= 1)) throw new SerError('MODEL_CARD_MISMATCH', 'model output is not probabilities (value outside [0, 1])');
      sum += p;
    }
    if (Math.abs(sum - 1) > 1e-3) {
      throw new SerError('MODEL_CARD_MISMATCH', `model output is not probabilities (sums to ${sum.toFixed(4)})`);
    }
  }
}

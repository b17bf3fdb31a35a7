import { EventEmitter } from 'eventemitter3';
import { SpeechGate } from '../audio/speech-gate.js';
import { EnergyVad, type VadOptions } from '../audio/vad.js';
import { Windower, type AudioWindow } from '../audio/windower.js';
import { callerModelFromCard } from '../emotion/caller-baseline.js';
import { EmotionTracker, type EmotionUpdate } from '../emotion/tracker.js';
import type { InferenceEngine } from '../inference/engine.js';

/**
 * Live calls: after a window passes the speech gate, the next 3 windows of energy speech skip Silero
 * (see SpeechGate). Measured with `npm run bench` on 2 cores: judging every window cost 0.48% CPU per
 * call against 0.30% without the gate, and 300 calls were no longer sustained.
 */
const LIVE_GATE_TRUST = 3;

export interface CallPipelineOptions {
  minSpeechRatio: number;
  smoothing: number;
  vad?: Partial<VadOptions>;
  /** Windows queued for inference across the process beyond which a new window is dropped, not queued. */
  maxBacklog: number;
}

export interface CallPipelineStats {
  windows: number;
  classified: number;
  silent: number;
  /** Windows the energy VAD passed and the speech gate (Silero) rejected: tones, noise, music. */
  nonSpeech: number;
  dropped: number;
  inferenceErrors: number;
}

export interface CallPipelineEvents {
  emotion: [update: EmotionUpdate];
  'inference-error': [err: Error];
}

/**
 * One call's audio after RTP: VAD + windowing on the receive thread, inference on the worker pool,
 * and the tracker's updates emitted strictly in window order.
 */
export class CallPipeline extends EventEmitter<CallPipelineEvents> {
  readonly callId: string;
  readonly tracker: EmotionTracker;
  readonly #engine: InferenceEngine;
  readonly #windower: Windower;
  readonly #opts: CallPipelineOptions;
  readonly #rate: number;
  readonly #stats: CallPipelineStats = { windows: 0, classified: 0, silent: 0, nonSpeech: 0, dropped: 0, inferenceErrors: 0 };
  #tail: Promise<void> = Promise.resolve();
  /** With the speech gate, a call's windows go to inference one after another (Silero's state carries over). */
  readonly #gate: SpeechGate | null;
  #gateTail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(callId: string, engine: InferenceEngine, opts: CallPipelineOptions) {
    super();
    this.callId = callId;
    this.#engine = engine;
    this.#opts = opts;
    this.#rate = engine.card.sampleRate;
    this.#windower = new Windower(
      {
        sampleRate: this.#rate,
        windowSamples: engine.windowSamples,
        hopSamples: engine.hopSamples,
      },
      new EnergyVad(opts.vad),
    );
    this.#gate = engine.gated ? new SpeechGate(engine.windowSamples, engine.hopSamples, LIVE_GATE_TRUST) : null;
    this.tracker = new EmotionTracker(callId, engine.labels, opts.smoothing, callerModelFromCard(engine.card));
    this.tracker.on('emotion', (u) => this.emit('emotion', u));
  }

  get stats(): CallPipelineStats {
    return { ...this.#stats };
  }

  /** Decoded 8 kHz audio, normally one 20 ms frame; the array may be reused by the caller. */
  push(samples: Float32Array, length: number): void {
    if (this.#closed) return;
    const window = this.#windower.push(samples, 0, length);
    if (window) this.#onWindow(window, performance.now());
  }

  /** Resolves once every window handed to inference so far has produced its update. */
  drain(): Promise<void> {
    return this.#tail;
  }

  close(): void {
    this.#closed = true;
  }

  #onWindow(w: AudioWindow, completedAt: number): void {
    this.#stats.windows++;
    const base = { start: w.startSample / this.#rate, end: w.endSample / this.#rate, speechRatio: w.speechRatio, dbfs: w.dbfs, completedAt };
    if (w.speechRatio < this.#opts.minSpeechRatio) {
      this.#stats.silent++;
      this.#tail = this.#tail.then(() => this.#observe({ ...base, probs: null }));
      return;
    }
    if (this.#engine.backlog >= this.#opts.maxBacklog) {
      this.#stats.dropped++;
      return;
    }
    const gate = this.#gate;
    let result: ReturnType<InferenceEngine['infer']>;
    if (gate && gate.needsJudging()) {
      result = this.#gateTail.then(() => {
        const input = gate.request(w.samples, w.startSample, w.endSample, w.dbfs);
        return this.#engine.infer(w.samples, input).then((r) => {
          if (r.gate) gate.commit(input, r.gate);
          return r;
        });
      });
      this.#gateTail = result.catch(() => undefined);
    } else {
      result = this.#engine.infer(w.samples);
    }
    this.#tail = this.#tail.then(() =>
      result.then(
        (r) => {
          if (r.gate && !r.gate.passed) {
            // Energy, but not speech (a tone, DTMF, noise, music): never scored, never moves the tracker.
            this.#stats.nonSpeech++;
            this.#observe({ ...base, probs: null });
            return;
          }
          this.#stats.classified++;
          this.#observe({ ...base, probs: r.probs });
        },
        (err: Error) => {
          this.#stats.inferenceErrors++;
          if (!this.#closed) this.emit('inference-error', err);
        },
      ),
    );
  }

  #observe(obs: Parameters<EmotionTracker['observe']>[0]): void {
    if (!this.#closed) this.tracker.observe(obs);
  }
}

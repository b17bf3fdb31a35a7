/** Messages between the inference pool and its worker threads. Audio and probabilities travel as transferables. */

export interface WorkerInit {
  modelPath: string;
  inputName: string;
  outputName: string;
  intraOpThreads: number;
  /** Silero VAD model for the speech gate (src/audio/speech-gate.ts); absent: no gate. */
  vadModelPath?: string;
}

/**
 * Speech gate for a batch (one entry per window): Silero runs over each window's new chunks from the
 * call's carried state; a window whose share of speech chunks (its older, already judged chunks
 * included) is under `minShare` is not given to the emotion model. Items with 0 new and 0 previous
 * chunks are not gated.
 */
export interface GateRequest {
  segments: Float32Array;
  offsets: Int32Array;
  chunks: Int32Array;
  /** Per item [2][128], and 32 samples of context; updated and returned. */
  state: Float32Array;
  context: Float32Array;
  prevSpeech: Int32Array;
  prevChunks: Int32Array;
  minShare: number;
}

export interface GateResult {
  /** Per item, its new chunks' speech flags (row b at b * steps). */
  flags: Uint8Array;
  steps: number;
  state: Float32Array;
  context: Float32Array;
  passed: Uint8Array;
  /** Time inside Silero for the batch. */
  ms: number;
}

export type ToWorker =
  | { type: 'run'; id: number; audio: Float32Array; batch: number; samples: number; gate?: GateRequest }
  /** Finish the runs already sent, release the session, then exit. */
  | { type: 'close' }
  /** Fault injection (tests): exit at once with code 1, abandoning queued runs, as a fatal error would. */
  | { type: 'crash' };

export type FromWorker =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; probs: Float32Array; dims: number[]; ms: number; threadId: number; gate?: GateResult }
  | { type: 'run-failed'; id: number; message: string };

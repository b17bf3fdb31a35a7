/** Messages between the inference pool and its worker threads. Audio and probabilities travel as transferables. */

export interface WorkerInit {
  modelPath: string;
  inputName: string;
  outputName: string;
  intraOpThreads: number;
}

export type ToWorker =
  | { type: 'run'; id: number; audio: Float32Array; batch: number; samples: number }
  /** Finish the runs already sent, release the session, then exit. */
  | { type: 'close' }
  /** Fault injection (tests): exit at once with code 1, abandoning queued runs, as a fatal error would. */
  | { type: 'crash' };

export type FromWorker =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; probs: Float32Array; dims: number[]; ms: number; threadId: number }
  | { type: 'run-failed'; id: number; message: string };

/**
 * Per-call state of the speech gate (issue 14 item 4): Silero VAD (src/audio/silero.ts) judges each
 * 32 ms chunk of the caller's audio once, carrying its recurrent state from one window to the next, and
 * only on windows the energy VAD already calls speech. A window reaches the emotion model when at least
 * `minShare` of its chunks are speech. Memory per call: Silero's state (256 floats), 32 samples of
 * context, and one flag per chunk of the last window (94 bytes); the inference runs in the worker pool,
 * batched across calls (src/inference/ort-worker.ts).
 */
import { SILERO_CHUNK } from './silero.js';

const STATE = 256;
const CONTEXT = 32;

/**
 * Silero hears a quiet caller's window raised to about this level (the RMS of the energy VAD's speech
 * frames, `AudioWindow.dbfs`): its speech probability falls with level (CREMA-D test actors at -45 dBFS:
 * 78% of windows kept against 95% at -20 dBFS), while tones, DTMF, noise and music stay rejected at any
 * level. Only raised, never lowered, and by at most GATE_MAX_GAIN_DB.
 */
export const GATE_LEVEL_DBFS = -26;
export const GATE_MAX_GAIN_DB = 30;

/** Gain (linear) by which Silero hears a window whose speech frames are at `dbfs`. */
export function gateGain(dbfs: number): number {
  return 10 ** (Math.min(GATE_MAX_GAIN_DB, Math.max(0, GATE_LEVEL_DBFS - dbfs)) / 20);
}

/** What one window asks of the worker. */
export interface GateInput {
  /** The window's not yet judged audio, whole chunks. */
  segment: Float32Array;
  chunks: number;
  state: Float32Array;
  context: Float32Array;
  /** Chunks of this window judged before, and how many of them were speech. */
  prevChunks: number;
  prevSpeech: number;
  /** Stream position of the segment's first sample. */
  from: number;
}

export interface GateOutcome {
  flags: Uint8Array;
  /** Offset of this window's flags in `flags`. */
  offset: number;
  state: Float32Array;
  context: Float32Array;
  passed: boolean;
}

export class SpeechGate {
  readonly #state = new Float32Array(STATE);
  readonly #context = new Float32Array(CONTEXT);
  readonly #ringStart: Float64Array;
  readonly #ringFlag: Uint8Array;
  #ringNext = 0;
  /** End of the audio judged so far (stream samples); -1: nothing yet. */
  #judgedTo = -1;
  #windows = 0;
  #passed = 0;
  readonly #trustAfter: number;

  readonly #resumeSamples: number;
  /** Windows still taken as speech without asking Silero (see trustAfterPass). */
  #trusted = 0;

  /**
   * `hopSamples`: after a gap Silero judges only the window's newest hop. `trustAfterPass`: after a
   * window passes, this many following windows of energy speech reach the model without Silero, then
   * the next is judged again (its newest hop, state afresh): Silero cost falls by about
   * (trust / (trust + 1)) for a caller who talks, while a tone or DTMF after speech is scored at most
   * `trustAfterPass` windows before the gate shuts (rules need sustained evidence: `for` of 6 s and more).
   */
  constructor(windowSamples: number, hopSamples = windowSamples, trustAfterPass = 0) {
    this.#resumeSamples = hopSamples;
    this.#trustAfter = trustAfterPass;
    const cap = Math.ceil(windowSamples / SILERO_CHUNK) + 2;
    this.#ringStart = new Float64Array(cap).fill(-Infinity);
    this.#ringFlag = new Uint8Array(cap);
  }

  /** Whether the next window of energy speech must be judged by Silero; false uses up one trusted window. */
  needsJudging(): boolean {
    if (this.#trusted === 0) return true;
    this.#trusted--;
    return false;
  }

  /** Windows judged, and how many of them reached the emotion model. */
  get stats(): { windows: number; passed: number } {
    return { windows: this.#windows, passed: this.#passed };
  }

  /**
   * The request for a window [startSample, endSample) whose samples are `samples`; `dbfs`, the level of
   * its speech frames, raises a quiet window to GATE_LEVEL_DBFS for Silero (gateGain).
   */
  request(samples: Float32Array, startSample: number, endSample: number, dbfs?: number): GateInput {
    let from = this.#judgedTo;
    if (from < startSample || from > endSample) {
      // The first window: all of it. After a gap (windows without speech, or trusted ones): its newest
      // hop. Silero starts afresh either way.
      this.#state.fill(0);
      this.#context.fill(0);
      this.#ringStart.fill(-Infinity);
      from = from === -1 ? startSample : Math.max(startSample, endSample - this.#resumeSamples);
    }
    const chunks = Math.floor((endSample - from) / SILERO_CHUNK);
    const at = from - startSample;
    let prevChunks = 0;
    let prevSpeech = 0;
    for (let i = 0; i < this.#ringStart.length; i++) {
      if (this.#ringStart[i]! >= startSample && this.#ringStart[i]! < from) {
        prevChunks++;
        prevSpeech += this.#ringFlag[i]!;
      }
    }
    const segment = samples.slice(at, at + chunks * SILERO_CHUNK);
    const gain = dbfs === undefined ? 1 : gateGain(dbfs);
    if (gain !== 1) for (let i = 0; i < segment.length; i++) segment[i]! *= gain;
    return {
      segment,
      chunks,
      state: this.#state.slice(),
      context: this.#context.slice(),
      prevChunks,
      prevSpeech,
      from,
    };
  }

  /** Takes the worker's verdict on a request: Silero's new state and the new chunks' flags. */
  commit(input: GateInput, out: GateOutcome): void {
    this.#state.set(out.state);
    this.#context.set(out.context);
    for (let c = 0; c < input.chunks; c++) {
      const slot = this.#ringNext++ % this.#ringStart.length;
      this.#ringStart[slot] = input.from + c * SILERO_CHUNK;
      this.#ringFlag[slot] = out.flags[out.offset + c]!;
    }
    this.#judgedTo = input.from + input.chunks * SILERO_CHUNK;
    this.#windows++;
    if (out.passed) this.#passed++;
    this.#trusted = out.passed ? this.#trustAfter : 0;
  }
}

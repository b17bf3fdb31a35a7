import { FloatRingBuffer } from './ring-buffer.js';
import { EnergyVad, meanSquareDbfs } from './vad.js';

export interface WindowSpec {
  sampleRate: number;
  windowSamples: number;
  hopSamples: number;
}

export interface AudioWindow {
  /** Its own buffer: it is transferred to an inference worker. */
  samples: Float32Array;
  /** Positions in the call's stream (seconds = samples / sampleRate). */
  startSample: number;
  endSample: number;
  /** Share of the window's 20 ms frames that the VAD called speech. */
  speechRatio: number;
  /** RMS level of the speech frames (of all frames when there are none). */
  dbfs: number;
}

const FRAME = 160;

/**
 * Cuts the call's audio into model windows: the latest `windowSamples`, every `hopSamples`, each with
 * the VAD's verdict over its frames. Everything is pre-allocated except the window handed out.
 */
export class Windower {
  readonly #spec: WindowSpec;
  readonly #vad: EnergyVad;
  readonly #audio: FloatRingBuffer;
  readonly #frameCap: number;
  readonly #speech: Uint8Array;
  readonly #energy: Float64Array;
  readonly #partial = new Float32Array(FRAME);
  #partialLength = 0;
  #frames = 0;
  #seen = 0;
  #lastEnd = 0;
  /** Stream position at which the next window is due: windows end on a fixed grid, whatever the packet sizes. */
  #due: number;

  constructor(spec: WindowSpec, vad: EnergyVad = new EnergyVad()) {
    this.#spec = spec;
    this.#vad = vad;
    this.#audio = new FloatRingBuffer(spec.windowSamples);
    this.#frameCap = Math.ceil(spec.windowSamples / FRAME) + 1;
    this.#speech = new Uint8Array(this.#frameCap);
    this.#energy = new Float64Array(this.#frameCap);
    this.#due = spec.windowSamples;
  }

  get samplesSeen(): number {
    return this.#seen;
  }

  /** Feeds audio; returns a window when one is due. Lengths need not be whole frames. */
  push(src: Float32Array, offset: number, length: number): AudioWindow | null {
    this.#audio.write(src, offset, length);
    let at = offset;
    let left = length;
    while (left > 0) {
      const take = Math.min(left, FRAME - this.#partialLength);
      this.#partial.set(src.subarray(at, at + take), this.#partialLength);
      this.#partialLength += take;
      at += take;
      left -= take;
      if (this.#partialLength === FRAME) this.#closeFrame();
    }
    this.#seen += length;
    if (this.#seen < this.#due) return null;
    const { windowSamples, hopSamples } = this.#spec;
    while (this.#due <= this.#seen) this.#due += hopSamples;
    return this.#emit(windowSamples);
  }

  /** End of a recording: a last, possibly shorter, window if audio remains that no window has covered. */
  flush(): AudioWindow | null {
    if (this.#seen === 0) return null;
    if (this.#seen < this.#spec.windowSamples) return this.#lastEnd === 0 ? this.#emit(this.#seen) : null;
    if (this.#seen - this.#lastEnd > this.#spec.hopSamples / 2) return this.#emit(this.#spec.windowSamples);
    return null;
  }

  reset(): void {
    this.#audio.clear();
    this.#vad.reset();
    this.#partialLength = 0;
    this.#frames = 0;
    this.#seen = 0;
    this.#lastEnd = 0;
    this.#due = this.#spec.windowSamples;
  }

  #closeFrame(): void {
    let sum = 0;
    for (let i = 0; i < FRAME; i++) sum += this.#partial[i]! * this.#partial[i]!;
    const slot = this.#frames % this.#frameCap;
    this.#speech[slot] = this.#vad.process(this.#partial, 0, FRAME) ? 1 : 0;
    this.#energy[slot] = sum;
    this.#frames++;
    this.#partialLength = 0;
  }

  #emit(length: number): AudioWindow {
    const samples = new Float32Array(length);
    this.#audio.copyLatest(samples, length);
    const frames = Math.min(this.#frames, Math.floor(length / FRAME));
    let speech = 0;
    let speechEnergy = 0;
    let allEnergy = 0;
    for (let k = 1; k <= frames; k++) {
      const slot = (this.#frames - k) % this.#frameCap;
      allEnergy += this.#energy[slot]!;
      if (this.#speech[slot]) {
        speech++;
        speechEnergy += this.#energy[slot]!;
      }
    }
    this.#lastEnd = this.#seen;
    return {
      samples,
      startSample: this.#seen - length,
      endSample: this.#seen,
      speechRatio: frames > 0 ? speech / frames : 0,
      dbfs: meanSquareDbfs(speech > 0 ? speechEnergy / (speech * FRAME) : frames > 0 ? allEnergy / (frames * FRAME) : 0),
    };
  }
}

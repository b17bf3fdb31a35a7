import { FloatRingBuffer } from './ring-buffer.js';
import { EnergyVad, meanSquareDbfs } from './vad.js';

export interface WindowSpec {
  sampleRate: number;
  /** Samples per model window (e.g. 24000: 3 s at 8 kHz). */
  windowSamples: number;
  /** Samples between window ends (e.g. 8000: 1 s). */
  hopSamples: number;
}

export interface AudioWindow {
  /** Its own buffer: it is transferred to an inference worker. */
  samples: Float32Array;
  /** Positions in the call's stream (seconds = samples / sampleRate); endSample is exclusive. */
  startSample: number;
  endSample: number;
  /**
   * Share of the window's complete 20 ms frames in which the caller was talking: frames the VAD called
   * speech, plus the pauses between two of them up to `bridgeMs` long (between words, before a stop
   * consonant). A caller talking through the window scores near 1, not the ~0.5 of voiced frames alone.
   */
  speechRatio: number;
  /** Share of the frames the VAD itself called speech (no pause bridged). */
  voicedRatio: number;
  /** RMS level of the speech frames (of all frames when there are none). */
  dbfs: number;
}

/** VAD frame: 20 ms at 8 kHz. */
const FRAME = 160;

/** Pauses up to this long between speech frames count as talking (measured: docs/speech-ratio.md). */
export const DEFAULT_BRIDGE_MS = 300;

/**
 * Cuts a call's audio into model windows: the latest `windowSamples`, every `hopSamples` once a full
 * window has arrived, each with the VAD's verdict over its frames. Window ends lie on a fixed grid
 * (window, window + hop, ...), reached whatever the packet sizes; the window ends at the first packet
 * boundary at or past its grid point. Nothing is allocated per packet, only the window handed out.
 */
export class Windower {
  readonly #spec: WindowSpec;
  readonly #vad: EnergyVad;
  readonly #audio: FloatRingBuffer;
  // Per-frame speech flag and energy (sum of squares), indexed by frame number modulo #frameCap.
  readonly #frameCap: number;
  readonly #speech: Uint8Array;
  readonly #energy: Float64Array;
  /** A frame begun by one push and finished by a later one. */
  readonly #partial = new Float32Array(FRAME);
  #partialLength = 0;
  #frames = 0;
  #seen = 0;
  /** End of the last window emitted (0: none yet). */
  #lastEnd = 0;
  /** Stream position at which the next window is due. */
  #due: number;

  /** Longest pause between speech frames that still counts as talking, in frames. */
  readonly #bridgeFrames: number;

  constructor(spec: WindowSpec, vad: EnergyVad = new EnergyVad(), bridgeMs = DEFAULT_BRIDGE_MS) {
    const { windowSamples, hopSamples, sampleRate } = spec;
    if (!Number.isInteger(windowSamples) || windowSamples < 1) throw new RangeError(`windowSamples must be a positive integer, got ${windowSamples}`);
    if (!Number.isInteger(hopSamples) || hopSamples < 1) throw new RangeError(`hopSamples must be a positive integer, got ${hopSamples}`);
    if (!(sampleRate > 0)) throw new RangeError(`sampleRate must be positive, got ${sampleRate}`);
    this.#spec = { ...spec };
    this.#bridgeFrames = Math.round((bridgeMs / 1000) * sampleRate / FRAME);
    this.#vad = vad;
    this.#audio = new FloatRingBuffer(windowSamples);
    this.#frameCap = Math.ceil(windowSamples / FRAME) + 1;
    this.#speech = new Uint8Array(this.#frameCap);
    this.#energy = new Float64Array(this.#frameCap);
    this.#due = windowSamples;
  }

  get samplesSeen(): number {
    return this.#seen;
  }

  /**
   * Feeds `length` samples of `src` from `offset` (any length; 160 normally). Returns a window when one is
   * due, else null. A push spanning several grid points returns only the latest window.
   */
  push(src: Float32Array, offset: number, length: number): AudioWindow | null {
    this.#audio.write(src, offset, length);
    let at = offset;
    const end = offset + length;
    // Finish a pending partial frame, then run whole frames straight from src, then keep the rest.
    if (this.#partialLength > 0) at = this.#fillPartial(src, at, end);
    for (; at + FRAME <= end; at += FRAME) this.#closeFrame(src, at);
    if (at < end) this.#fillPartial(src, at, end);
    this.#seen += length;

    if (this.#seen < this.#due) return null;
    while (this.#due <= this.#seen) this.#due += this.#spec.hopSamples;
    return this.#emit(this.#spec.windowSamples);
  }

  /**
   * End of a recording: a last window over the latest min(windowSamples, seen) samples when the recording
   * was shorter than a window, or when more than half a hop has arrived since the last window; else null.
   */
  flush(): AudioWindow | null {
    const { windowSamples, hopSamples } = this.#spec;
    if (this.#seen === 0 || this.#seen === this.#lastEnd) return null;
    if (this.#seen < windowSamples) return this.#emit(this.#seen);
    if (this.#seen - this.#lastEnd > hopSamples / 2) return this.#emit(windowSamples);
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

  #fillPartial(src: Float32Array, at: number, end: number): number {
    const partial = this.#partial;
    let n = this.#partialLength;
    while (n < FRAME && at < end) partial[n++] = src[at++]!;
    this.#partialLength = n;
    if (n === FRAME) {
      this.#closeFrame(partial, 0);
      this.#partialLength = 0;
    }
    return at;
  }

  #closeFrame(x: Float32Array, at: number): void {
    let sum = 0;
    for (let i = at; i < at + FRAME; i++) sum += x[i]! * x[i]!;
    const slot = this.#frames % this.#frameCap;
    this.#speech[slot] = this.#vad.process(x, at, FRAME) ? 1 : 0;
    this.#energy[slot] = sum;
    this.#frames++;
  }

  #emit(length: number): AudioWindow {
    const samples = new Float32Array(length);
    this.#audio.copyLatest(samples, length);
    // Complete frames lying inside the window: the newest ends where the pending partial frame begins.
    const frames = Math.min(this.#frames, Math.floor((length - this.#partialLength) / FRAME));
    let speech = 0;
    let talking = 0;
    let lastSpeech = -1;
    let speechEnergy = 0;
    let allEnergy = 0;
    for (let k = 1; k <= frames; k++) {
      const slot = (this.#frames - k) % this.#frameCap;
      allEnergy += this.#energy[slot]!;
      if (this.#speech[slot] === 1) {
        speech++;
        speechEnergy += this.#energy[slot]!;
        const gap = lastSpeech < 0 ? 0 : k - lastSpeech - 1;
        talking += 1 + (gap <= this.#bridgeFrames ? gap : 0);
        lastSpeech = k;
      }
    }
    this.#lastEnd = this.#seen;
    let meanSquare = 0;
    if (speech > 0) meanSquare = speechEnergy / (speech * FRAME);
    else if (frames > 0) meanSquare = allEnergy / (frames * FRAME);
    else for (let i = 0; i < length; i++) meanSquare += (samples[i]! * samples[i]!) / length; // under one frame
    return {
      samples,
      startSample: this.#seen - length,
      endSample: this.#seen,
      speechRatio: frames > 0 ? talking / frames : 0,
      voicedRatio: frames > 0 ? speech / frames : 0,
      dbfs: meanSquareDbfs(meanSquare),
    };
  }
}

/** Every window of a whole recording, cut as the live path cuts a call (20 ms frames, then the tail). */
export function windowsOf(audio: Float32Array, spec: WindowSpec, vad: EnergyVad = new EnergyVad(), bridgeMs = DEFAULT_BRIDGE_MS): AudioWindow[] {
  const windower = new Windower(spec, vad, bridgeMs);
  const out: AudioWindow[] = [];
  for (let i = 0; i < audio.length; i += FRAME) {
    const w = windower.push(audio, i, Math.min(FRAME, audio.length - i));
    if (w) out.push(w);
  }
  const last = windower.flush();
  if (last) out.push(last);
  return out;
}

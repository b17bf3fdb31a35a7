/**
 * Energy voice-activity detection per 20 ms frame. The noise floor is the quietest frame of the last
 * ~1.5 s (minimum statistics): speech always has gaps between syllables that reveal the floor, while
 * steady noise becomes its own floor within that time and stops counting as speech.
 */
export interface VadOptions {
  /** A frame is speech when this many dB above the noise floor ... */
  thresholdDb: number;
  /** ... and at least this loud. */
  minSpeechDbfs: number;
  /** Frames over which the floor is the minimum. */
  floorFrames: number;
  /** Floor used until floorFrames have been seen, so speech at the very start of a call counts. */
  initialFloorDbfs: number;
}

export const DEFAULT_VAD: VadOptions = { thresholdDb: 9, minSpeechDbfs: -50, floorFrames: 75, initialFloorDbfs: -45 };

const SILENCE_DBFS = -120;

export function rmsDbfs(x: Float32Array, offset: number, length: number): number {
  if (length <= 0) return SILENCE_DBFS;
  let sum = 0;
  for (let i = offset; i < offset + length; i++) sum += x[i]! * x[i]!;
  return meanSquareDbfs(sum / length);
}

/** dBFS of a mean square, relative to a full-scale square wave (a full-scale sine is -3.01). */
export function meanSquareDbfs(meanSquare: number): number {
  return meanSquare > 1e-12 ? Math.max(SILENCE_DBFS, 10 * Math.log10(meanSquare)) : SILENCE_DBFS;
}

export class EnergyVad {
  readonly #opts: VadOptions;
  readonly #history: Float64Array;
  #count = 0;
  #lastDbfs = SILENCE_DBFS;
  #floor: number;

  constructor(opts: Partial<VadOptions> = {}) {
    this.#opts = { ...DEFAULT_VAD, ...opts };
    this.#history = new Float64Array(this.#opts.floorFrames);
    this.#floor = this.#opts.initialFloorDbfs;
  }

  get lastDbfs(): number {
    return this.#lastDbfs;
  }

  get noiseFloorDbfs(): number {
    return this.#floor;
  }

  process(frame: Float32Array, offset: number, length: number): boolean {
    const db = rmsDbfs(frame, offset, length);
    this.#lastDbfs = db;
    const n = this.#history.length;
    this.#history[this.#count % n] = db;
    this.#count++;
    let min = Infinity;
    const held = Math.min(this.#count, n);
    for (let i = 0; i < held; i++) if (this.#history[i]! < min) min = this.#history[i]!;
    this.#floor = this.#count < n ? Math.min(min, this.#opts.initialFloorDbfs) : min;
    return db >= this.#opts.minSpeechDbfs && db >= this.#floor + this.#opts.thresholdDb;
  }

  reset(): void {
    this.#count = 0;
    this.#floor = this.#opts.initialFloorDbfs;
    this.#lastDbfs = SILENCE_DBFS;
  }
}

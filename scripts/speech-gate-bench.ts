/**
 * Speech gate figures for BENCHMARKS.md and the model card (issue 14 item 4):
 *  1. the product path (`analyzeWav`, gate on) over CREMA-D test-actor calls (20 sentences each, 0.6 s
 *     pauses), at their own level and at -40 dBFS: windows the energy VAD passes, and how many the gate keeps;
 *  2. the gate's cost per window in steady state (32 new chunks = 1 s hop, state carried), one thread,
 *     batched across 1, 8 and 32 calls, next to the emotion model's cost per 3 s window at the same batch.
 *   nice -n 10 npx tsx scripts/speech-gate-bench.ts
 */
import * as ort from 'onnxruntime-node';
import { encodeWav, parseWav } from '../src/audio/wav.js';
import { SileroBatch } from '../src/audio/silero.js';
import { speechGateOption } from '../src/inference/gate-options.js';
import { InferenceEngine } from '../src/inference/engine.js';
import { analyzeWav } from '../src/offline/analyze.js';
import { CREMA_D_CLIPS, concatenate, loadClips } from '../src/sim/demo-audio.js';
import { scaleToDbfs } from '../test/audio/line-signals.js';

const MODEL = new URL('../models/ser-cnn.onnx', import.meta.url).pathname;
const TEST = ['1002', '1007', '1017', '1018', '1023', '1024', '1029', '1032', '1034', '1043', '1061', '1064', '1069', '1085'];
const engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 32, maxWaitMs: 2, speechGate: speechGateOption({ speechGate: true, speechGateMinShare: 0.1 }) });
for (const level of [null, -20, -40] as const) {
  let energy = 0;
  let kept = 0;
  for (const a of TEST) {
    let call = concatenate(loadClips(CREMA_D_CLIPS, new RegExp(`^${a}_.*\\.wav$`), 20, true), 0.6);
    if (level !== null) call = scaleToDbfs(call, level);
    const r = await analyzeWav(a, parseWav(encodeWav([call], 8000, 'pcm16')), engine, { minSpeechRatio: 0.25, negativityThreshold: 0.7 });
    energy += r.windows.filter((w) => w.speech || w.nonSpeech).length;
    kept += r.windows.filter((w) => w.speech).length;
  }
  console.log(`CREMA-D test-actor calls${level === null ? '' : ` at ${level} dBFS`}: energy VAD passed ${energy} windows, the gate kept ${kept} (${((100 * kept) / energy).toFixed(1)}%)`);
}
await engine.close();

const silero = await SileroBatch.open(ort);
const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
for (const b of [1, 8, 32]) {
  const chunks = new Int32Array(b).fill(32);
  const offsets = Int32Array.from({ length: b }, (_, i) => i * 8192);
  const audio = new Float32Array(b * 8192).map(() => Math.random() * 0.1 - 0.05);
  const state = new Float32Array(b * 256);
  const context = new Float32Array(b * 32);
  await silero.continueBatch(audio, offsets, chunks, state, context);
  const reps = Math.max(2, Math.round(64 / b));
  let t = performance.now();
  for (let r = 0; r < reps; r++) await silero.continueBatch(audio, offsets, chunks, state, context);
  const gateMs = (performance.now() - t) / reps / b;
  const win = new Float32Array(b * 24000).map(() => Math.random() * 0.1 - 0.05);
  await session.run({ audio: new ort.Tensor('float32', win, [b, 24000]) });
  t = performance.now();
  for (let r = 0; r < reps; r++) await session.run({ audio: new ort.Tensor('float32', win, [b, 24000]) });
  const modelMs = (performance.now() - t) / reps / b;
  console.log(`batch ${b}: speech gate ${gateMs.toFixed(2)} ms per window (32 chunks), emotion model ${modelMs.toFixed(2)} ms per window`);
}

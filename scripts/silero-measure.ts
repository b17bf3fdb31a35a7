/**
 * Silero VAD as the emotion model's speech gate (issue 14 item 4): which energy-VAD "speech" windows it
 * keeps, on synthesised line signals and on CREMA-D test-actor speech, for several gate segments and
 * thresholds; and its cost per chunk with our onnxruntime-node, one thread.
 *   nice -n 10 npx tsx scripts/silero-measure.ts
 */
import * as ort from 'onnxruntime-node';
import { windowsOf, type AudioWindow } from '../src/audio/windower.js';
import { SileroBatch, SILERO_CHUNK } from '../src/audio/silero.js';
import { CREMA_D_CLIPS, concatenate, loadClips } from '../src/sim/demo-audio.js';
import { lineSignals, scaleToDbfs } from '../test/audio/line-signals.js';

const RATE = 8000;
const silero = await SileroBatch.open(ort);

function windows(audio: Float32Array): AudioWindow[] {
  return windowsOf(audio, { sampleRate: RATE, windowSamples: 24000, hopSamples: 8000 }).filter((x) => x.samples.length >= 4000);
}

const SEGMENTS = [10240, 16384, 24000];
/** Share of chunks with p >= 0.5 over the window's last `seg` samples, per energy-speech window. */
async function shares(ws: AudioWindow[], seg: number): Promise<number[]> {
  const out: number[] = [];
  for (const w of ws) {
    const len = Math.min(seg, w.samples.length);
    const p = await silero.run(w.samples, 1, 0, w.samples.length - len, len);
    out.push(p.reduce((n, v) => n + (v >= 0.5 ? 1 : 0), 0) / Math.max(1, p.length));
  }
  return out;
}

const THRESHOLDS = [0.05, 0.1, 0.2];
console.log('| signal | energy-VAD speech windows | ' + SEGMENTS.flatMap((s) => THRESHOLDS.map((t) => `kept, last ${(s / RATE).toFixed(2)} s, share>=${t}`)).join(' | ') + ' |');
console.log('| --- | ---: |' + ' ---: |'.repeat(SEGMENTS.length * THRESHOLDS.length));
async function row(name: string, audio: Float32Array): Promise<void> {
  const ws = windows(audio).filter((w) => w.speechRatio >= 0.25);
  const cells: string[] = [];
  for (const s of SEGMENTS) {
    const sh = await shares(ws, s);
    for (const t of THRESHOLDS) cells.push(String(sh.filter((x) => x >= t).length));
  }
  console.log(`| ${name} | ${ws.length} | ${cells.join(' | ')} |`);
}

for (const [name, sig] of Object.entries(lineSignals(20))) {
  for (const level of [-10, -25, -40]) await row(`${name} ${level} dBFS`, scaleToDbfs(sig, level));
}
// CREMA-D test actors: a "call" of 20 sentences per actor with pauses, as serving hears it.
const TEST = ['1002', '1007', '1017', '1018', '1023', '1024', '1029', '1032', '1034', '1043', '1061', '1064', '1069', '1085'];
const calls = TEST.map((a) => concatenate(loadClips(CREMA_D_CLIPS, new RegExp(`^${a}_.*\\.wav$`), 20, true), 0.6));
const all = new Float32Array(calls.reduce((n, c) => n + c.length, 0));
let at = 0;
for (const c of calls) {
  all.set(c, at);
  at += c.length;
}
await row('CREMA-D test actors, calls of 20 sentences', all);
await row('same, at -40 dBFS', scaleToDbfs(all, -40));
const clips = loadClips(CREMA_D_CLIPS, new RegExp(`^(${TEST.join('|')})_.*\\.wav$`), 300, true);
const perClip = new Float32Array(0);
void perClip;
let kept = 0;
let total = 0;
for (const c of clips) {
  const ws = windows(c.audio).filter((w) => w.speechRatio >= 0.25);
  total += ws.length;
  for (const s of await shares(ws, 10240)) if (s >= 0.1) kept++;
}
console.log(`\nCREMA-D test clips one by one (analyze): ${kept} of ${total} energy-speech windows kept (last 1.28 s, share >= 0.1)`);

// Cost per chunk.
for (const b of [1, 8, 32, 128]) {
  const audio = new Float32Array(b * 10240).map(() => Math.random() * 0.1 - 0.05);
  await silero.run(audio, b, 10240, 0, 10240);
  const t = performance.now();
  const reps = Math.max(1, Math.round(32 / b));
  for (let r = 0; r < reps; r++) await silero.run(audio, b, 10240, 0, 10240);
  const ms = (performance.now() - t) / reps;
  console.log(`batch ${b}: ${((ms / (10240 / SILERO_CHUNK) / b) * 1000).toFixed(1)} us per chunk per stream, ${(ms / b).toFixed(2)} ms per 1.28 s segment per window`);
}

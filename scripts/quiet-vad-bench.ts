/**
 * Level independence of speech detection (issue 14 item 4, quiet callers), for BENCHMARKS.md and the card.
 * For each energy-VAD absolute floor (`minSpeechDbfs`) given:
 *  1. CREMA-D test-actor calls (20 sentences each, 0.6 s pauses, mu-law as on a phone line) at their own
 *     level and at -20, -30, -40, -45 dBFS through the product path (`analyzeWav`, speech gate on): windows
 *     the energy VAD passes, windows the gate keeps (scored), and the accuracy of the scored windows (a
 *     window's label: the clip covering most of it);
 *  2. a quiet caller (-40 dBFS) over pink line noise at -50 and -45 dBFS, and that noise alone;
 *  3. tones, DTMF, noise and music (test/audio/line-signals.ts, 20 s) at -10, -25, -40, -50 dBFS:
 *     windows the energy VAD passes (each costs a Silero run) and windows scored (false accepts).
 *   nice -n 10 npx tsx scripts/quiet-vad-bench.ts [-50 -70 ...]
 */
import { encodeWav, parseWav } from '../src/audio/wav.js';
import { speechGateOption } from '../src/inference/gate-options.js';
import { InferenceEngine } from '../src/inference/engine.js';
import { analyzeWav, type FileAnalysis } from '../src/offline/analyze.js';
import { CREMA_D_CLIPS, loadClips } from '../src/sim/demo-audio.js';
import { lineSignals, pinkNoise, scaleToDbfs } from '../test/audio/line-signals.js';

const MODEL = new URL('../models/ser-cnn.onnx', import.meta.url).pathname;
const TEST = ['1002', '1007', '1017', '1018', '1023', '1024', '1029', '1032', '1034', '1043', '1061', '1064', '1069', '1085'];
/** Each argument: minSpeechDbfs, or minSpeechDbfs/thresholdDb. */
const settings = (process.argv.length > 2 ? process.argv.slice(2) : ['-50']).map((a) => {
  const [floor, threshold] = a.split('/').map(Number);
  return { minSpeechDbfs: floor!, thresholdDb: threshold ?? 9 };
});
const SKIP = new Set((process.env.SKIP ?? '').split(',')); // calls, noisy, nonspeech
const engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 32, maxWaitMs: 2, speechGate: speechGateOption({ speechGate: true, speechGateMinShare: 0.1 }) });

/** One actor's call and, per sample range, the clip's emotion. */
const calls = TEST.map((a) => {
  const clips = loadClips(CREMA_D_CLIPS, new RegExp(`^${a}_.*\\.wav$`), 20, true);
  const pause = Math.round(0.6 * 8000);
  const audio = new Float32Array(clips.reduce((n, c) => n + c.audio.length + pause, 0));
  const spans: { from: number; to: number; label: string }[] = [];
  let at = 0;
  for (const c of clips) {
    audio.set(c.audio, at);
    spans.push({ from: at, to: at + c.audio.length, label: c.name.split('_')[2]! });
    at += c.audio.length + pause;
  }
  return { actor: a, audio, spans };
});

function labelOf(spans: { from: number; to: number; label: string }[], start: number, end: number): string {
  let best = '';
  let most = 0;
  for (const s of spans) {
    const o = Math.min(end, s.to) - Math.max(start, s.from);
    if (o > most) [most, best] = [o, s.label];
  }
  return best;
}

async function run(name: string, audio: Float32Array, vad: { minSpeechDbfs: number; thresholdDb: number }): Promise<FileAnalysis> {
  return analyzeWav(name, parseWav(encodeWav([audio], 8000, 'ulaw')), engine, { minSpeechRatio: 0.25, negativityThreshold: 0.7, vad });
}

/** a + b, the length of a. */
function mix(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + (b[i % b.length] ?? 0));
}

for (const floor of settings) {
  console.log(`\n## energy VAD minSpeechDbfs ${floor.minSpeechDbfs}, thresholdDb ${floor.thresholdDb}`);
  if (!SKIP.has('calls')) {
  console.log('| CREMA-D test-actor calls | energy VAD passed | gate kept (scored) | scored / scored at -20 | accuracy of scored |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  let at20 = NaN;
  for (const level of [null, -20, -30, -40, -45] as const) {
    let energy = 0;
    let kept = 0;
    let right = 0;
    for (const c of calls) {
      const audio = level === null ? c.audio : scaleToDbfs(c.audio, level);
      const r = await run(c.actor, audio, floor);
      energy += r.windows.filter((w) => w.speech || w.nonSpeech).length;
      for (const w of r.windows) {
        if (!w.speech) continue;
        kept++;
        if (w.dominant === labelOf(c.spans, Math.round(w.start * 8000), Math.round(w.end * 8000))) right++;
      }
    }
    if (level === -20) at20 = kept;
    console.log(`| ${level === null ? 'own level' : `${level} dBFS`} | ${energy} | ${kept} (${((100 * kept) / energy).toFixed(1)}%) | ${level === null ? '' : `${((100 * kept) / at20).toFixed(1)}%`} | ${((100 * right) / kept).toFixed(1)}% |`);
  }
  }
  if (!SKIP.has('noisy')) {

  console.log('\n| quiet caller over line noise (3 actors, 60 s each) | windows | energy VAD passed | scored |');
  console.log('| --- | ---: | ---: | ---: |');
  const noise = pinkNoise(90, 11);
  for (const [desc, speechDb, noiseDb] of [
    ['speech -40, no noise', -40, null],
    ['speech -40 + pink -50', -40, -50],
    ['speech -40 + pink -45', -40, -45],
    ['pink -50 alone', null, -50],
    ['pink -45 alone', null, -45],
    ['pink -40 alone', null, -40],
  ] as const) {
    let windows = 0;
    let energy = 0;
    let kept = 0;
    for (const c of calls.slice(0, 3)) {
      const speech = speechDb === null ? new Float32Array(c.audio.length) : scaleToDbfs(c.audio, speechDb);
      const line = noiseDb === null ? speech : mix(speech, scaleToDbfs(noise, noiseDb));
      const r = await run(desc, line, floor);
      windows += r.windows.length;
      energy += r.windows.filter((w) => w.speech || w.nonSpeech).length;
      kept += r.windows.filter((w) => w.speech).length;
    }
    console.log(`| ${desc} | ${windows} | ${energy} | ${kept} |`);
  }
  }
  if (SKIP.has('nonspeech')) continue;

  console.log('\n| non-speech, 20 s (8 windows... per level) | -10 dBFS passed/scored | -25 | -40 | -50 |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  let totalWindows = 0;
  let totalEnergy = 0;
  let totalScored = 0;
  for (const [name, sig] of Object.entries(lineSignals(20))) {
    const cells: string[] = [];
    for (const level of [-10, -25, -40, -50]) {
      const r = await run(name, scaleToDbfs(sig, level), floor);
      const energy = r.windows.filter((w) => w.speech || w.nonSpeech).length;
      const scored = r.windows.filter((w) => w.speech).length;
      totalWindows += r.windows.length;
      totalEnergy += energy;
      totalScored += scored;
      cells.push(`${energy} / ${scored}`);
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  console.log(`| all (${totalWindows} windows) | energy VAD passed ${totalEnergy} (${((100 * totalEnergy) / totalWindows).toFixed(1)}%), scored ${totalScored} (${((100 * totalScored) / totalWindows).toFixed(1)}%) | | | |`);
}
await engine.close();

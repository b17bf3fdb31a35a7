/**
 * Step 1 of the caller-baseline measurement (issue 14): the shipped model's per-window outputs on every
 * CREMA-D clip and every xcorpus clip, windowed exactly as serving and `ser-ari analyze` window a
 * recording (Windower + EnergyVad over 20 ms frames, flush at the end), cached as JSON lines.
 *
 *   nice -n 10 npx tsx scripts/caller-baseline-windows.ts [out.jsonl]   (default /tmp/ser-cb/windows.jsonl)
 *
 * One line per window: corpus, part (train/val/test for CREMA-D, the corpus for xcorpus), speaker,
 * file, label, window index, samples, speechRatio, voicedRatio, dbfs, logp (natural log of the model's
 * calibrated probabilities, card label order), and `tilt` (energy of the first difference over the
 * energy, a cheap spectral-tilt statistic for the familiarity score). Analysis: caller-baseline-sim.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { resampleTo8k } from '../src/audio/resample.js';
import { EnergyVad } from '../src/audio/vad.js';
import { parseWav } from '../src/audio/wav.js';
import { windowsOf, type AudioWindow } from '../src/audio/windower.js';
import { loadModelCard } from '../src/inference/model-card.js';

const OUT = process.argv[2] ?? '/tmp/ser-cb/windows.jsonl';
const SHARED = process.env.SER_SHARED_DATA ?? '/work/shared/data';
const MODEL = new URL('../models/ser-cnn.onnx', import.meta.url).pathname;
const card = loadModelCard(MODEL);
const split = JSON.parse(readFileSync(new URL('../models/training/split.json', import.meta.url), 'utf8')) as Record<string, string[]>;
const excluded = new Set((JSON.parse(readFileSync(new URL('../models/ser-cnn.json', import.meta.url), 'utf8')) as { trainingData: { excluded: string[] } }).trainingData.excluded);

interface Clip {
  corpus: string;
  part: string;
  speaker: string;
  file: string;
  path: string;
  label: string;
}

function csv(path: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i]!, v])));
}

const clips: Clip[] = [];
const partOf = new Map<string, string>();
for (const part of ['train', 'val', 'test']) for (const a of split[part]!) partOf.set(a, part);
for (const r of csv(join(SHARED, 'crema-d-8k/manifest.csv'))) {
  if (excluded.has(r.file!)) continue;
  clips.push({ corpus: 'crema-d', part: partOf.get(r.actor!) ?? 'unknown', speaker: r.actor!, file: r.file!, path: join(SHARED, 'crema-d-8k/clips', r.file!), label: r.emotion! });
}
for (const r of csv(join(SHARED, 'xcorpus-8k/manifest.csv'))) {
  clips.push({ corpus: r.corpus!, part: r.corpus!, speaker: r.speaker!, file: r.file!, path: join(SHARED, 'xcorpus-8k', r.file!), label: r.emotion! });
}

const windowSamples = Math.round(card.windowSeconds * card.sampleRate);
const hopSamples = Math.round(card.hopSeconds * card.sampleRate);
const minSamples = Math.round(card.minSeconds * card.sampleRate);

function windowsOfClip(audio: Float32Array): AudioWindow[] {
  return windowsOf(audio, { sampleRate: card.sampleRate, windowSamples, hopSamples });
}

function tilt(x: Float32Array): number {
  let e = 0;
  let d = 0;
  for (let i = 1; i < x.length; i++) {
    e += x[i]! * x[i]!;
    const v = x[i]! - x[i - 1]!;
    d += v * v;
  }
  return e > 0 ? d / e : 0;
}

const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
mkdirSync(dirname(OUT), { recursive: true });
const lines: string[] = [];
const t0 = performance.now();
let nWin = 0;
for (const [ci, c] of clips.entries()) {
  const wav = parseWav(readFileSync(c.path));
  const audio = resampleTo8k(wav.channels[0]!, wav.sampleRate);
  const wins = windowsOfClip(audio).filter((w) => w.samples.length >= minSamples);
  for (const [wi, w] of wins.entries()) {
    const out = await session.run({ [card.input.name]: new ort.Tensor('float32', w.samples, [1, w.samples.length]) });
    const p = out[card.output.name]!.data as Float32Array;
    nWin++;
    lines.push(
      JSON.stringify({
        corpus: c.corpus,
        part: c.part,
        speaker: c.speaker,
        file: c.file,
        label: c.label,
        w: wi,
        samples: w.samples.length,
        speechRatio: +w.speechRatio.toFixed(4),
        voicedRatio: +w.voicedRatio.toFixed(4),
        dbfs: +w.dbfs.toFixed(2),
        tilt: +tilt(w.samples).toFixed(5),
        logp: Array.from(p, (v) => +Math.log(Math.max(v, 1e-12)).toFixed(6)),
      }),
    );
  }
  if (ci % 500 === 0) process.stderr.write(`${ci}/${clips.length} clips, ${nWin} windows, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
writeFileSync(OUT, lines.join('\n') + '\n');
process.stderr.write(`${clips.length} clips, ${nWin} windows -> ${OUT} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

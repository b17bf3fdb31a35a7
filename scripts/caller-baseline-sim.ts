/**
 * Step 2 of the caller-baseline measurement (issue 14): simulated calls over the cached per-window
 * outputs of scripts/caller-baseline-windows.ts. For each clip and history length H (windows), the
 * "call so far" is H speech windows of OTHER clips of the same speaker (any emotion, never the clip
 * itself; clips taken in a seeded random order, their windows in order), and the clip's windows are
 * corrected by a variant of the output-level caller baseline, then scored as serving scores them
 * (mean of the corrected window probabilities over the clip's speech windows).
 *
 *   npx tsx scripts/caller-baseline-sim.ts [windows.jsonl] [--history same]   (same: history of the same emotion only,
 *   the persistent caller who is angry all call long: the worst case for any baseline)
 *
 * Prints markdown tables; writes /tmp/ser-cb/sim-<history>.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mulberry32 } from '../src/sim/prng.js';
import { type BaselineKind, type BaselineVariant, applyBaseline } from '../src/emotion/caller-baseline.js';

function v(kind: BaselineKind, alpha: number, k: number, cap = 0): BaselineVariant {
  return { name: kind === 'none' ? 'none' : `${kind} a=${alpha}${k ? ` k=${k}` : ''}${cap ? ` cap=${cap}` : ''}`, kind, alpha, k, cap };
}

/** Every variant the measurement script tries. */
const BASELINE_VARIANTS: BaselineVariant[] = [
  v('none', 0, 0),
  v('logp', 0.1, 0),
  v('logp', 0.25, 0),
  v('logp', 0.25, 10),
  v('logp', 1, 10, 0.25),
  v('logp', 1, 10, 0.5),
  v('logp', 0.5, 0),
  v('logp', 0.75, 0),
  v('logp', 1, 0),
  v('logp', 0.75, 5),
  v('logp', 1, 5),
  v('logp', 1, 10),
  v('logp', 1, 20),
  v('prob', 0.5, 0),
  v('prob', 0.75, 0),
  v('prob', 1, 0),
  v('prob', 1, 5),
  v('prob', 1, 10),
  v('prob', 0.25, 0),
  v('prob', 0.25, 10),
  v('prob', 1, 10, 0.25),
  v('prob', 1, 10, 0.5),
];

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
const K = LABELS.length;
const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && a !== 'same' && a !== 'mixed') ?? '/tmp/ser-cb/windows.jsonl';
const historyMode = args.includes('same') ? 'same' : 'mixed';
const HS = [0, 3, 10, 30, 60];
const REPEATS = 3;
const MIN_SPEECH = 0.25;

interface Win {
  corpus: string;
  part: string;
  speaker: string;
  file: string;
  label: string;
  speechRatio: number;
  logp: number[];
}
const wins: Win[] = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Win);

// Training-set reference: mean log-prob and mean prob over the CREMA-D training actors' speech windows.
const train = wins.filter((w) => w.part === 'train' && w.speechRatio >= MIN_SPEECH);
const priorLogp = new Float64Array(K);
const priorP = new Float64Array(K);
for (const w of train) for (let i = 0; i < K; i++) {
  priorLogp[i]! += w.logp[i]! / train.length;
  priorP[i]! += Math.exp(w.logp[i]!) / train.length;
}
const reference = { meanLogp: Array.from(priorLogp), meanP: Array.from(priorP), windows: train.length };

interface Clip {
  set: string;
  speaker: string;
  file: string;
  label: number;
  windows: number[][];
  speech: number[][];
}
const clipsBy = new Map<string, Clip>();
for (const w of wins) {
  if (w.part === 'train') continue;
  const set = w.corpus === 'crema-d' ? `crema-d ${w.part}` : w.corpus;
  let c = clipsBy.get(w.file);
  if (!c) clipsBy.set(w.file, (c = { set, speaker: w.speaker, file: w.file, label: LABELS.indexOf(w.label), windows: [], speech: [] }));
  c.windows.push(w.logp);
  if (w.speechRatio >= MIN_SPEECH) c.speech.push(w.logp);
}
const clips = [...clipsBy.values()];
const bySpeaker = new Map<string, Clip[]>();
for (const c of clips) bySpeaker.set(c.speaker, [...(bySpeaker.get(c.speaker) ?? []), c]);
const SETS = ['crema-d val', 'crema-d test', 'emodb', 'emovo', 'nemo', 'ased'];

/** History windows for a clip: other clips of the speaker in a seeded order, their speech windows in order. */
function history(c: Clip, h: number, rand: () => number): number[][] {
  if (h === 0) return [];
  const others = bySpeaker.get(c.speaker)!.filter((o) => o !== c && (historyMode === 'mixed' || o.label === c.label));
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [others[i], others[j]] = [others[j]!, others[i]!];
  }
  const out: number[][] = [];
  for (const o of others) for (const w of o.speech) if (out.length < h) out.push(w);
  return out;
}

interface Metrics {
  n: number;
  accuracy: number;
  macroF1: number;
  ece: number;
  recall: number[];
  meanH: number;
}

function metrics(preds: { label: number; p: number[] }[], meanH: number): Metrics {
  const conf = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const bins = Array.from({ length: 15 }, () => ({ n: 0, conf: 0, correct: 0 }));
  let correct = 0;
  for (const { label, p } of preds) {
    let top = 0;
    for (let i = 1; i < K; i++) if (p[i]! > p[top]!) top = i;
    conf[label]![top]!++;
    if (top === label) correct++;
    const b = bins[Math.min(14, Math.floor(p[top]! * 15))]!;
    b.n++;
    b.conf += p[top]!;
    b.correct += top === label ? 1 : 0;
  }
  const present = [...new Set(preds.map((x) => x.label))];
  const recall = LABELS.map((_, i) => {
    const row = conf[i]!.reduce((a, b) => a + b, 0);
    return row ? conf[i]![i]! / row : NaN;
  });
  const f1s = present.map((i) => {
    const tp = conf[i]![i]!;
    const row = conf[i]!.reduce((a, b) => a + b, 0);
    const col = conf.reduce((a, r) => a + r[i]!, 0);
    return tp === 0 ? 0 : (2 * tp) / (row + col);
  });
  const ece = bins.reduce((s, b) => s + (b.n ? (b.n / preds.length) * Math.abs(b.conf / b.n - b.correct / b.n) : 0), 0);
  return { n: preds.length, accuracy: correct / preds.length, macroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length, ece, recall, meanH };
}

function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Mean over the clip's speech windows (all windows when none passed the speech gate) of the corrected probs. */
function scoreClip(c: Clip, hist: number[][], v: BaselineVariant): number[] {
  const use = c.speech.length > 0 ? c.speech : c.windows;
  const sumLogp = new Float64Array(K);
  const sumP = new Float64Array(K);
  for (const w of hist) for (let i = 0; i < K; i++) {
    sumLogp[i]! += w[i]!;
    sumP[i]! += Math.exp(w[i]!);
  }
  const out = new Array<number>(K).fill(0);
  for (const w of use) {
    const adj = applyBaseline(w, { n: hist.length, sumLogp, sumP }, reference, v);
    const p = softmax(adj);
    for (let i = 0; i < K; i++) out[i]! += p[i]! / use.length;
  }
  return out;
}

const variants: BaselineVariant[] = BASELINE_VARIANTS;
type Row = { variant: string; h: number; set: string } & Metrics;
const rows: Row[] = [];
for (const v of variants) {
  for (const h of HS) {
    if (v.kind === 'none' && h > 0) continue;
    for (const set of SETS) {
      const preds: { label: number; p: number[] }[] = [];
      let hSum = 0;
      for (let r = 0; r < (h === 0 ? 1 : REPEATS); r++) {
        for (const c of clips) {
          if (c.set !== set) continue;
          // Seeded per clip, repeat and H: every variant sees the same histories.
          const rand = mulberry32(hashSeed(`${c.file}|${r}|${h}`));
          const hist = history(c, h, rand);
          hSum += hist.length;
          preds.push({ label: c.label, p: scoreClip(c, hist, v) });
        }
      }
      rows.push({ variant: v.name, h, set, ...metrics(preds, hSum / preds.length) });
    }
  }
}

function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const pct = (x: number): string => (100 * x).toFixed(1);
const xc = ['emodb', 'emovo', 'nemo', 'ased'];
console.log(`history: ${historyMode} (other clips of the same speaker${historyMode === 'same' ? ', same emotion only' : ', any emotion'}); ${REPEATS} seeded draws per clip and H\n`);
console.log('| variant | H | val acc | val F1 | val ECE | test acc | test F1 | test ECE | test min recall | test ANG recall | emodb | emovo | nemo | ased | xcorpus mean | xc max ECE |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const summary: Record<string, unknown>[] = [];
for (const v of variants) {
  for (const h of HS) {
    const get = (set: string): Row | undefined => rows.find((r) => r.variant === v.name && r.h === h && r.set === set);
    const val = get('crema-d val');
    if (!val) continue;
    const test = get('crema-d test')!;
    const xs = xc.map((s) => get(s)!);
    const xmean = xs.reduce((a, r) => a + r.accuracy, 0) / xs.length;
    const minRecall = Math.min(...test.recall.filter((x) => !Number.isNaN(x)));
    summary.push({ variant: v.name, h, val: val.accuracy, test: test.accuracy, xcorpusMean: xmean });
    console.log(
      `| ${v.name} | ${h} | ${pct(val.accuracy)} | ${val.macroF1.toFixed(3)} | ${val.ece.toFixed(3)} | ${pct(test.accuracy)} | ${test.macroF1.toFixed(3)} | ${test.ece.toFixed(3)} | ${minRecall.toFixed(2)} | ${test.recall[0]!.toFixed(2)} | ${xs
        .map((r) => pct(r.accuracy))
        .join(' | ')} | ${pct(xmean)} | ${Math.max(...xs.map((r) => r.ece)).toFixed(3)} |`,
    );
  }
}
const meanH = HS.map((h) => `H=${h}: ` + SETS.map((s) => `${s} ${rows.find((r) => r.variant === variants[1]!.name && r.h === h && r.set === s)?.meanH.toFixed(1) ?? '-'}`).join(', '));
console.log('\nhistory windows actually available (mean per clip):\n' + meanH.join('\n'));
writeFileSync(`/tmp/ser-cb/sim-${historyMode}.json`, JSON.stringify({ reference, rows }, null, 1));

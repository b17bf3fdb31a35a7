/**
 * `ser-ari evaluate` (issue 14 item 5): how the product does on someone's own labelled clips, scored
 * exactly as serving scores a caller who said the clip, with and without the caller's earlier speech.
 *
 * - A clip's verdict is the product's: the clip cut into windows as a live call is (a clip shorter than
 *   a window is one shorter window), the energy VAD and the Silero speech gate as configured, the model
 *   on every speech window, and the mean of the speech windows' probabilities (what `analyze` reports
 *   as the channel's `meanProbs`/`dominant`). A clip with no speech window gets no verdict: it is
 *   counted in `noSpeech` and scored as WRONG (in accuracy and in its class's recall), not dropped, since
 *   the product told the user nothing about that caller. It has no place in the confusion matrix
 *   (rows are true labels, columns predicted labels) and no confidence, so ECE is over clips with a verdict.
 * - History H seconds: the caller baseline (src/emotion/caller-baseline.ts) is first fed the speech
 *   windows of the same speaker's OTHER clips (any emotion, never the clip itself), in a seeded random
 *   order of clips, each clip's windows in order, H / hop windows of them: what a live call's baseline
 *   holds after the caller has talked for H seconds (one window per hop). A speaker with less speech
 *   than that gives all of it (`meanHistoryWindows` shows it). The clip's windows then go through the
 *   same state as in a call: each adjusted by the baseline before it, then added.
 * - `probs` (top level of each result) are the absolute probabilities, what rules read by default: the
 *   baseline does not shift them, but like every probability the product reports they are softened for a
 *   voice unfamiliar to the model (caller-baseline.ts `soften`), and the history is part of how familiar
 *   the voice is, so they can change with H (for voices like CREMA-D's they barely do). `adjusted` holds
 *   the same metrics for the caller-relative probabilities. Each clip's model outputs are computed once;
 *   every H is simulated from them, as the baseline only needs the outputs of the history windows.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { resampleTo8k } from '../audio/resample.js';
import type { VadOptions } from '../audio/vad.js';
import { AudioFileError, readWavFile } from '../audio/wav-file.js';
import { CallerBaseline, callerModelFromCard } from '../emotion/caller-baseline.js';
import type { InferenceEngine } from '../inference/engine.js';
import { mulberry32 } from '../sim/prng.js';
import { scoreChannel } from './analyze.js';

/** A problem with the folder or manifest: one line, the command's usage error. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export interface ManifestRow {
  /** As written in the manifest (or the file's path under the folder). */
  file: string;
  /** Where it was found (absolute). */
  path: string;
  emotion: string;
  speaker: string;
}

export interface Manifest {
  /** The manifest file read, or null when the labels came from CREMA-D style file names. */
  source: string | null;
  rows: ManifestRow[];
  /** Rows whose emotion is not one of the model's labels, by label as written. */
  skipped: Record<string, number>;
}

/** CREMA-D's file names: actor_sentence_emotion_level.wav (1001_DFA_ANG_XX.wav). */
const CREMA_D_NAME = /^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z0-9]{2})\.wav$/i;

/**
 * The labelled clips of `folder`: from `manifest` (relative to the folder; default manifest.csv in it),
 * or, without one, from CREMA-D style file names. Rows whose emotion is not in `labels` are counted in
 * `skipped`. Throws ManifestError with one line for a missing folder or manifest or missing columns.
 */
export function loadManifest(folder: string, manifest: string | undefined, labels: readonly string[]): Manifest {
  const root = resolve(folder);
  const st = statSync(root, { throwIfNoEntry: false });
  if (!st) throw new ManifestError(`${folder}: no such folder`);
  if (!st.isDirectory()) throw new ManifestError(`${folder}: not a folder (evaluate takes the folder of the labelled clips)`);
  const given = manifest !== undefined;
  const path = resolve(root, manifest ?? 'manifest.csv');
  if (!existsSync(path)) {
    if (given) throw new ManifestError(`manifest ${path} not found (--manifest is read relative to the folder)`);
    return fromFileNames(root, labels);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ManifestError(`manifest ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const table = parseCsv(text);
  const header = (table.shift() ?? []).map((h) => h.trim());
  const col = (name: string): number => header.findIndex((h) => h.toLowerCase() === name);
  const fileCol = col('file');
  const emotionCol = col('emotion');
  const speakerCol = col('speaker') >= 0 ? col('speaker') : col('actor');
  const missing = [fileCol < 0 ? 'file' : null, emotionCol < 0 ? 'emotion' : null, speakerCol < 0 ? 'speaker (or actor)' : null].filter((x) => x !== null);
  if (missing.length > 0) {
    throw new ManifestError(
      `manifest ${path} has no ${missing.map((m) => `"${m}"`).join(', ')} column; columns found: ${header.length && header.some((h) => h) ? header.join(', ') : '(none)'}; it needs file, emotion and speaker (or actor)`,
    );
  }
  const find = fileFinder(root, dirname(path));
  const rows: ManifestRow[] = [];
  const skipped: Record<string, number> = {};
  table.forEach((cells, i) => {
    if (cells.every((c) => c.trim() === '')) return;
    const line = i + 2;
    const file = (cells[fileCol] ?? '').trim();
    const emotion = (cells[emotionCol] ?? '').trim().toUpperCase();
    const speaker = (cells[speakerCol] ?? '').trim();
    if (!file) throw new ManifestError(`manifest ${path} line ${line}: no file`);
    if (!labels.includes(emotion)) {
      skipped[emotion || '(empty)'] = (skipped[emotion || '(empty)'] ?? 0) + 1;
      return;
    }
    if (!speaker) throw new ManifestError(`manifest ${path} line ${line}: no ${header[speakerCol]} for ${file}`);
    rows.push({ file, path: find(file), emotion, speaker });
  });
  return { source: path, rows, skipped };
}

function fromFileNames(root: string, labels: readonly string[]): Manifest {
  const wavs = listWavs(root);
  const odd = wavs.find((w) => !CREMA_D_NAME.test(basename(w)));
  if (wavs.length === 0 || odd !== undefined) {
    throw new ManifestError(
      `${root} has no manifest.csv${wavs.length === 0 ? ' and no .wav files' : ` and its file names are not CREMA-D style (actor_sentence_EMOTION_level.wav), e.g. ${relative(root, odd!)}`}: give --manifest (columns file, emotion, speaker)`,
    );
  }
  const rows: ManifestRow[] = [];
  const skipped: Record<string, number> = {};
  for (const w of wavs) {
    const [, actor, , emotion] = CREMA_D_NAME.exec(basename(w))!;
    const e = emotion!.toUpperCase();
    if (labels.includes(e)) rows.push({ file: relative(root, w), path: w, emotion: e, speaker: actor! });
    else skipped[e] = (skipped[e] ?? 0) + 1;
  }
  return { source: null, rows, skipped };
}

function listWavs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (/\.wav$/i.test(d.name)) out.push(p);
    }
  };
  walk(root);
  return out;
}

/**
 * A manifest's file column to a path: relative to the folder, else to the manifest's own folder, else a
 * file of that name (or path ending) in the folder's subfolders when exactly one matches (CREMA-D's
 * manifest names clips/ files by their bare names). Else the folder-relative path, which the audio
 * reader then reports as missing.
 */
function fileFinder(root: string, manifestDir: string): (file: string) => string {
  let index: Map<string, string[]> | null = null;
  return (file) => {
    const direct = resolve(root, file);
    if (existsSync(direct)) return direct;
    const beside = resolve(manifestDir, file);
    if (existsSync(beside)) return beside;
    if (!index) {
      index = new Map();
      for (const w of listWavs(root)) index.set(basename(w), [...(index.get(basename(w)) ?? []), w]);
    }
    const tail = file.replace(/\\/g, '/');
    const hits = (index.get(basename(tail)) ?? []).filter((w) => w.replace(/\\/g, '/').endsWith('/' + tail));
    return hits.length === 1 ? hits[0]! : direct;
  };
}

/** RFC 4180 CSV (quotes, doubled quotes, CRLF, a BOM); `;` or tab separators when the header has no comma. */
export function parseCsv(text: string): string[][] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const sep = firstLine.includes(',') ? ',' : firstLine.includes(';') ? ';' : firstLine.includes('\t') ? '\t' : ',';
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === sep) {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** One clip's model outputs: its speech windows' probabilities in order (empty: no speech window). */
export interface ScoredClip {
  row: ManifestRow;
  speech: Float32Array[];
}

/**
 * Every clip through the live path once, `concurrency` clips in flight so that the engine can batch
 * their windows. Clips that cannot be read (or are not mono) come back as AudioFileError.
 */
export async function scoreClips(rows: ManifestRow[], engine: InferenceEngine, minSpeechRatio: number, vad?: Partial<VadOptions>, concurrency = 16): Promise<(ScoredClip | AudioFileError)[]> {
  const out = new Array<ScoredClip | AudioFileError>(rows.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      const row = rows[i]!;
      try {
        const wav = readWavFile(row.path);
        if (wav.channels.length !== 1) throw new AudioFileError(row.path, `has ${wav.channels.length} channels: evaluate wants one speaker per clip (mono), e.g. "sox ${basename(row.path)} -c 1 out.wav"`);
        const { outputs } = await scoreChannel(resampleTo8k(wav.channels[0]!, wav.sampleRate), engine, minSpeechRatio, vad);
        out[i] = { row, speech: outputs.filter((o): o is Float32Array => o !== null) };
      } catch (err) {
        if (!(err instanceof AudioFileError)) throw err;
        out[i] = err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  return out;
}

/** FNV-1a of a string, for per-clip seeds that do not depend on the order clips are scored in. */
function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * The order in which a clip's history is drawn: the same speaker's other clips (never the clip itself,
 * nor another row naming the same file), shuffled by a generator seeded with `seed` and the clip's
 * file. The same for every H, so a longer history extends a shorter one.
 */
export function historyOrder(clip: ScoredClip, speakerClips: readonly ScoredClip[], seed: number): ScoredClip[] {
  const others = speakerClips.filter((o) => o.row.path !== clip.row.path);
  const rand = mulberry32(hashSeed(`${seed}|${clip.row.speaker}|${clip.row.file}`));
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [others[i], others[j]] = [others[j]!, others[i]!];
  }
  return others;
}

/** The first `n` speech windows of the history clips, in order. */
export function historyWindows(order: readonly ScoredClip[], n: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (const o of order) for (const w of o.speech) if (out.length < n) out.push(w);
  return out;
}

export interface ClassMetrics {
  label: string;
  /** null when the data has no clip of this label. */
  recall: number | null;
  /** null when no clip was predicted as this label. */
  precision: number | null;
  f1: number | null;
  support: number;
  /** Clips of this label with no speech window (counted as wrong in recall). */
  noSpeech: number;
}

export interface Metrics {
  accuracy: number;
  /** Mean F1 over the labels the data has. */
  macroF1: number;
  /** Expected calibration error, 15 equal-width bins of the top probability, over clips with a verdict. */
  ece: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted], clips with a verdict only. */
  confusion: number[][];
}

/** Top probability in bins of width 1/bins; sum over bins of (share of items) * |accuracy - mean confidence|. */
export function expectedCalibrationError(items: readonly { confidence: number; correct: boolean }[], bins = 15): number {
  if (items.length === 0) return 0;
  const n = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  for (const { confidence, correct } of items) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(confidence * bins)));
    n[b]!++;
    conf[b]! += confidence;
    if (correct) right[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (n[b]! > 0) ece += (n[b]! / items.length) * Math.abs(right[b]! / n[b]! - conf[b]! / n[b]!);
  return ece;
}

/** Metrics of clip verdicts: `probs` null for a clip without speech (wrong, outside the confusion matrix). */
export function metrics(labels: readonly string[], items: readonly { label: number; probs: ArrayLike<number> | null }[]): Metrics {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const noSpeech = new Array<number>(k).fill(0);
  const calib: { confidence: number; correct: boolean }[] = [];
  let correct = 0;
  for (const { label, probs } of items) {
    if (!probs) {
      noSpeech[label]!++;
      continue;
    }
    let top = 0;
    for (let i = 1; i < k; i++) if (probs[i]! > probs[top]!) top = i;
    confusion[label]![top]!++;
    if (top === label) correct++;
    calib.push({ confidence: probs[top]!, correct: top === label });
  }
  const perClass = labels.map((label, i): ClassMetrics => {
    const tp = confusion[i]![i]!;
    const support = confusion[i]!.reduce((a, b) => a + b, 0) + noSpeech[i]!;
    const predicted = confusion.reduce((a, r) => a + r[i]!, 0);
    return {
      label,
      recall: support > 0 ? tp / support : null,
      precision: predicted > 0 ? tp / predicted : null,
      f1: support > 0 ? (tp === 0 ? 0 : (2 * tp) / (support + predicted)) : null,
      support,
      noSpeech: noSpeech[i]!,
    };
  });
  const f1s = perClass.filter((c) => c.f1 !== null).map((c) => c.f1!);
  return {
    accuracy: items.length > 0 ? correct / items.length : 0,
    macroF1: f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0,
    ece: expectedCalibrationError(calib),
    perClass,
    confusion,
  };
}

export interface HistoryResult extends Metrics {
  /** Seconds of the caller's earlier speech. */
  history: number;
  /** Speech windows that many seconds give the baseline (history / hop). */
  historyWindows: number;
  /** Windows the clips actually had before them (less when a speaker has too little other speech). */
  meanHistoryWindows: number;
  clipsPerSecond: number;
  /** The same metrics for the caller-relative (`adjusted`) probabilities. */
  adjusted: Metrics;
}

export interface Evaluation {
  clips: number;
  skipped: number;
  skippedLabels: Record<string, number>;
  noSpeech: number;
  unreadable: number;
  speakers: number;
  seed: number;
  seconds: number;
  clipsPerSecond: number;
  labels: string[];
  results: HistoryResult[];
}

/** The mean over a clip's speech windows, summed in window order (as analyze's summary). */
function meanOf(ws: readonly ArrayLike<number>[], k: number): Float64Array {
  const m = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (const w of ws) s += w[i]!;
    m[i] = s / ws.length;
  }
  return m;
}

/**
 * Metrics for each history length from the clips' cached outputs. `card` gives the labels, the hop
 * (seconds per history window) and the caller baseline.
 */
export function simulate(
  card: { labels: readonly string[]; hopSeconds: number; callerBaseline?: unknown },
  clips: readonly ScoredClip[],
  history: readonly number[],
  seed: number,
): { results: Omit<HistoryResult, 'clipsPerSecond'>[]; noSpeech: number; speakers: number } {
  const labels = card.labels;
  const k = labels.length;
  const caller = callerModelFromCard(card);
  const bySpeaker = new Map<string, ScoredClip[]>();
  for (const c of clips) bySpeaker.set(c.row.speaker, [...(bySpeaker.get(c.row.speaker) ?? []), c]);
  const orders = clips.map((c) => historyOrder(c, bySpeaker.get(c.row.speaker)!, seed));
  const truth = clips.map((c) => labels.indexOf(c.row.emotion));
  const results = history.map((h) => {
    const n = Math.round(h / card.hopSeconds);
    let used = 0;
    const absolute: { label: number; probs: Float64Array | null }[] = [];
    const relative: { label: number; probs: Float64Array | null }[] = [];
    clips.forEach((c, i) => {
      const hist = historyWindows(orders[i]!, n);
      used += hist.length;
      if (c.speech.length === 0) {
        absolute.push({ label: truth[i]!, probs: null });
        relative.push({ label: truth[i]!, probs: null });
        return;
      }
      // As the live tracker: adjusted by the baseline before the window, then the window joins it, then
      // both are softened by the caller's familiarity so far.
      const baseline = new CallerBaseline(k, caller);
      for (const w of hist) baseline.add(w);
      const probs: Float64Array[] = [];
      const adjusted: Float64Array[] = [];
      for (const w of c.speech) {
        const adj = baseline.adjust(w, new Float64Array(k));
        baseline.add(w);
        adjusted.push(baseline.soften(adj, adj));
        probs.push(baseline.soften(w, new Float64Array(k)));
      }
      absolute.push({ label: truth[i]!, probs: meanOf(probs, k) });
      relative.push({ label: truth[i]!, probs: meanOf(adjusted, k) });
    });
    return {
      history: h,
      historyWindows: n,
      meanHistoryWindows: clips.length > 0 ? used / clips.length : 0,
      ...metrics(labels, absolute),
      adjusted: metrics(labels, relative),
    };
  });
  return { results, noSpeech: clips.filter((c) => c.speech.length === 0).length, speakers: bySpeaker.size };
}

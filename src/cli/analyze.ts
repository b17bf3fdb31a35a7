import { vadOptionsOf } from '../audio/vad.js';
import { readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { AudioFileError, readWavFile } from '../audio/wav-file.js';
import type { FileAnalysis } from '../offline/analyze.js';
import { UsageError, exclusive, parseCommand } from './usage.js';

const USAGE = `usage: ser-ari analyze <file.wav | folder>... [--json | --csv] [--threshold 0.7] [--config file]

Runs the live path's windowing and emotion model over recorded calls (PCM, mu-law or A-law WAV, any
sample rate; in a stereo file each channel is one party). Folders are searched recursively for .wav.
A file that cannot be read is reported on stderr and the others are analysed; the exit code is then 1.
  --json        one JSON object per file (JSON lines): windows + summary
  --csv         one row per window
  --threshold   negativity (ANG+DIS+FEA+SAD) from which a window counts as a dissatisfied moment`;

const OTHER_AUDIO = new Set(['.mp3', '.ogg', '.opus', '.flac', '.m4a', '.aac', '.wma', '.gsm', '.amr', '.webm']);

export async function analyzeCommand(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const parsed = parseCommand(
    argv,
    USAGE,
    {
      json: { type: 'boolean', default: false },
      csv: { type: 'boolean', default: false },
      threshold: { type: 'string', default: '0.7' },
      config: { type: 'string' },
    },
    true,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  exclusive(values, 'json', 'csv');
  if (positionals.length === 0) throw new UsageError('name at least one WAV file or folder');
  const threshold = Number(values.threshold);
  if (values.threshold.trim() === '' || !(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold wants a number between 0 and 1, got "${values.threshold}"`);
  const found = positionals.map((p) => findWavs(resolve(p)));
  const files = found.flatMap((f) => f.files);
  let failed = 0;
  for (const f of found) {
    if (f.problem) {
      failed++;
      process.stderr.write(f.problem + '\n');
    }
  }
  if (files.length === 0) {
    process.stderr.write(`no .wav files found in ${positionals.join(', ')}\n`);
    return 2;
  }
  // The model's modules load only once the arguments are known to be good.
  const [{ loadConfig }, { resolveDataPath }, { InferenceEngine }, { analyzeWav }, { speechGateOption }] = await Promise.all([
    import('../config/load.js'),
    import('../config/paths.js'),
    import('../inference/engine.js'),
    import('../offline/analyze.js'),
    import('../inference/gate-options.js'),
  ]);
  const { config } = loadConfig(values.config ? { file: values.config } : {});
  const engine = await InferenceEngine.open({ ...config.model, modelPath: resolveDataPath(config.model.path), speechGate: speechGateOption(config.audio) });
  try {
    if (values.csv) out.write(csvHeader(engine.labels) + '\n');
    // A few files in flight at once, so windows from several files share inference batches.
    const results = new Map<number, Promise<FileAnalysis | Error>>();
    const start = (i: number): void => {
      const file = files[i]!;
      const opts = { minSpeechRatio: config.audio.minSpeechRatio, negativityThreshold: threshold, vad: vadOptionsOf(config.audio) };
      results.set(
        i,
        Promise.resolve()
          .then(() => analyzeWav(file, readWavFile(file), engine, opts))
          .catch((err: Error) => err),
      );
    };
    const inFlight = 4;
    for (let i = 0; i < Math.min(inFlight, files.length); i++) start(i);
    for (let i = 0; i < files.length; i++) {
      const r = await results.get(i)!;
      results.delete(i);
      if (i + inFlight < files.length) start(i + inFlight);
      if (r instanceof Error) {
        failed++;
        process.stderr.write(`${r instanceof AudioFileError ? r.message : `${files[i]}: ${r.message}`}\n`);
        continue;
      }
      out.write(values.json ? JSON.stringify(r) + '\n' : values.csv ? csvRows(r, engine.labels) : text(r));
    }
  } finally {
    await engine.close();
  }
  if (failed > 0) process.stderr.write(`${failed} of ${files.length + found.filter((f) => f.problem).length} input(s) could not be analysed\n`);
  return failed > 0 ? 1 : 0;
}

interface Found {
  files: string[];
  /** One line on what was wrong with this argument, or null. */
  problem: string | null;
}

/** The .wav files of a path; other audio formats in a folder are named so that they can be converted. */
function findWavs(path: string): Found {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return { files: [], problem: `${path}: no such file or folder` };
  if (st.isFile()) return { files: [path], problem: null };
  const files: string[] = [];
  const others: string[] = [];
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (/\.wav$/i.test(d.name)) files.push(p);
      else if (OTHER_AUDIO.has(extname(d.name).toLowerCase())) others.push(p);
    }
  };
  walk(path);
  if (others.length > 0) {
    const exts = [...new Set(others.map((o) => extname(o).toLowerCase()))].join(', ');
    process.stderr.write(
      `${path}: ${others.length} ${exts} file(s) skipped, only WAV is read: convert them, e.g. "ffmpeg -i in${extname(others[0]!)} -ar 8000 -ac 1 out.wav" or sox\n`,
    );
  }
  return { files, problem: null };
}

function csvHeader(labels: readonly string[]): string {
  return ['file', 'channel', 'start', 'end', 'speech', 'speech_ratio', 'dbfs', 'dominant', 'negativity', ...labels, 'adjusted_negativity', 'baseline_windows', 'familiarity'].join(',');
}

function csvRows(r: FileAnalysis, labels: readonly string[]): string {
  const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return r.windows
    .map((w) =>
      [
        quote(r.file),
        w.channel,
        w.start.toFixed(2),
        w.end.toFixed(2),
        w.speech ? 1 : 0,
        w.speechRatio.toFixed(2),
        w.dbfs.toFixed(1),
        w.dominant ?? '',
        w.negativity?.toFixed(4) ?? '',
        ...labels.map((l) => w.probs?.[l]?.toFixed(4) ?? ''),
        w.adjustedNegativity?.toFixed(4) ?? '',
        w.baselineWindows,
        w.familiarity?.toFixed(3) ?? '',
      ].join(','),
    )
    .map((line) => line + '\n')
    .join('');
}

function text(r: FileAnalysis): string {
  const lines = [`${r.file}  (${r.duration.toFixed(1)} s, ${r.channels} channel${r.channels > 1 ? 's' : ''}, ${r.format} ${r.sampleRate} Hz)`];
  for (const w of r.windows) {
    const who = r.channels > 1 ? `ch${w.channel} ` : '';
    const what = w.probs ? `${w.dominant} ${(w.probs[w.dominant!]! * 100).toFixed(0)}%  negativity ${w.negativity!.toFixed(2)}` : w.nonSpeech ? '(not speech: tone, noise or music)' : '(no speech)';
    lines.push(`  ${who}${w.start.toFixed(1).padStart(6)}-${w.end.toFixed(1).padEnd(6)} ${what}`);
  }
  for (const s of r.summary.channels) {
    const who = r.channels > 1 ? `channel ${s.channel}: ` : '';
    lines.push(
      s.dominant
        ? `  ${who}mostly ${s.dominant}, mean negativity ${s.meanNegativity!.toFixed(2)}, peak ${s.peakNegativity!.value.toFixed(2)} at ${s.peakNegativity!.start.toFixed(1)}-${s.peakNegativity!.end.toFixed(1)} s, familiarity ${s.familiarity === null ? 'unknown (little speech)' : s.familiarity.toFixed(2)}`
        : `  ${who}no speech found`,
    );
  }
  for (const m of r.summary.moments) {
    lines.push(`  dissatisfied moment: ${r.channels > 1 ? `ch${m.channel} ` : ''}${m.start.toFixed(1)}-${m.end.toFixed(1)} s, ${m.dominant}, negativity up to ${m.peakNegativity.toFixed(2)}`);
  }
  return lines.join('\n') + '\n\n';
}

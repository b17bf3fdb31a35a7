import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { resolveDataPath } from '../config/paths.js';
import { speechGateOption } from '../inference/gate-options.js';
import { InferenceEngine } from '../inference/engine.js';
import { analyzeWav, type FileAnalysis } from '../offline/analyze.js';

const USAGE = `usage: ser-ari analyze <file.wav | folder>... [--json | --csv] [--threshold 0.7] [--config file]

Runs the live path's windowing and emotion model over recorded calls (PCM, mu-law or A-law WAV, any
sample rate; in a stereo file each channel is one party). Folders are searched recursively for .wav.
  --json        one JSON object per file (JSON lines): windows + summary
  --csv         one row per window
  --threshold   negativity (ANG+DIS+FEA+SAD) from which a window counts as a dissatisfied moment`;

export async function analyzeCommand(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      csv: { type: 'boolean', default: false },
      threshold: { type: 'string', default: '0.7' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const threshold = Number(values.threshold);
  if (!(threshold >= 0 && threshold <= 1)) {
    process.stderr.write(`--threshold must be a number between 0 and 1, got ${values.threshold}\n`);
    return 2;
  }
  const files = positionals.flatMap((p) => wavFiles(resolve(p)));
  if (files.length === 0) {
    process.stderr.write(`no .wav files found in ${positionals.join(', ')}\n`);
    return 2;
  }
  const { config } = loadConfig(values.config ? { file: values.config } : {});
  const engine = await InferenceEngine.open({ ...config.model, modelPath: resolveDataPath(config.model.path), speechGate: speechGateOption(config.audio) });
  let failed = 0;
  try {
    if (values.csv) out.write(csvHeader(engine.labels) + '\n');
    // A few files in flight at once, so windows from several files share inference batches.
    const results = new Map<number, Promise<FileAnalysis | Error>>();
    const start = (i: number): void => {
      const file = files[i]!;
      results.set(
        i,
        analyzeWav(file, readFileSync(file), engine, { minSpeechRatio: config.audio.minSpeechRatio, negativityThreshold: threshold }).catch(
          (err: Error) => err,
        ),
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
        process.stderr.write(`${files[i]}: ${r.message}\n`);
        continue;
      }
      out.write(values.json ? JSON.stringify(r) + '\n' : values.csv ? csvRows(r, engine.labels) : text(r));
    }
  } finally {
    await engine.close();
  }
  return failed > 0 ? 1 : 0;
}

function wavFiles(path: string): string[] {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) {
    process.stderr.write(`${path}: no such file or folder\n`);
    return [];
  }
  if (st.isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => (d.isDirectory() ? wavFiles(join(path, d.name)) : /\.wav$/i.test(d.name) ? [join(path, d.name)] : []));
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

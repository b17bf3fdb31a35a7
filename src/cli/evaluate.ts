import { vadOptionsOf } from '../audio/vad.js';
import type { Evaluation, Metrics } from '../offline/evaluate.js';
import { UsageError, parseCommand } from './usage.js';

const USAGE = `usage: ser-ari evaluate <folder> [--manifest manifest.csv] [--history 0,10,30,60] [--seed 1] [--json] [--config file]

Scores your own labelled clips as the product would score a caller who said each one, and reports
accuracy, macro-F1, per-class recall and precision, the confusion matrix (rows: true label, columns:
predicted), ECE (15 bins) and clips/s.
  --manifest  CSV with columns file, emotion and speaker (or actor), read relative to the folder
              (default: <folder>/manifest.csv). file is relative to the folder (or to the manifest, or
              a bare name found once in the folder's subfolders). Emotions: ANG DIS FEA HAP NEU SAD;
              rows with other labels are skipped and counted. Without a manifest, CREMA-D style names
              (1001_DFA_ANG_XX.wav: speaker 1001, ANG) are read from the file names.
  --history   seconds of the same speaker's earlier speech the call has heard before the clip
              (comma-separated; default 0,10,30,60): H/hop speech windows of that speaker's OTHER clips
              (any emotion, never the clip itself), clips in a seeded random order, fed to the caller
              baseline before the clip's windows. A speaker with less other speech gives all of it.
  --seed      the history draw's seed (default 1): the same seed gives the same output
  --json      one JSON object: {"clips", "skipped", "noSpeech", "unreadable", "clipsPerSecond",
              "results": [{"history", "accuracy", "macroF1", "ece", "perClass": [{"label", "recall",
              "precision", ...}], "confusion", "adjusted": {the same for the adjusted probabilities}}]}

A clip is windowed exactly as a live call (3 s windows every 1 s; a shorter clip is one shorter window,
under 0.5 s none), through the energy VAD and the Silero speech gate of the config, and its verdict
is the label with the highest mean probability over its speech windows (as analyze's summary).
The top-level metrics of each result are the absolute probabilities the rules read by default: the
caller baseline does not change them, so they are the same for every H. "adjusted" scores the
caller-relative probabilities, where the history counts. A clip with no speech window (silence, or
only tones/noise for the speech gate) gets no verdict: it is counted in noSpeech and scored as wrong
(accuracy and its class's recall), not dropped; it is not in the confusion matrix or ECE.
A clip that cannot be read is named on stderr and left out; the exit code is then 1.`;

const DEFAULT_HISTORY = '0,10,30,60';

export function parseHistory(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const out: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (p === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--history wants seconds >= 0 separated by commas (e.g. 0,10,30,60), got "${value}"`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export async function evaluateCommand(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const parsed = parseCommand(
    argv,
    USAGE,
    {
      manifest: { type: 'string' },
      history: { type: 'string', default: DEFAULT_HISTORY },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    true,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('name the folder of the labelled clips');
  if (positionals.length > 1) throw new UsageError(`one folder only, got "${positionals[1]}" too`);
  const history = parseHistory(values.history);
  const seed = Number(values.seed);
  if (values.seed.trim() === '' || !Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed wants a whole number >= 0, got "${values.seed}"`);

  const [{ loadConfig }, { resolveDataPath }, { loadModelCard }, ev] = await Promise.all([
    import('../config/load.js'),
    import('../config/paths.js'),
    import('../inference/model-card.js'),
    import('../offline/evaluate.js'),
  ]);
  const { config } = loadConfig(values.config ? { file: values.config } : {});
  const modelPath = resolveDataPath(config.model.path);
  const card = loadModelCard(modelPath);
  let manifest;
  try {
    manifest = ev.loadManifest(positionals[0]!, values.manifest, card.labels);
  } catch (e) {
    if (e instanceof ev.ManifestError) throw new UsageError(e.message);
    throw e;
  }
  const skipped = Object.values(manifest.skipped).reduce((a, b) => a + b, 0);
  if (manifest.rows.length === 0) {
    err.write(`no clip with a label among ${card.labels.join(' ')} in ${manifest.source ?? positionals[0]}${skipped ? ` (${skipped} rows skipped: ${fmtSkipped(manifest.skipped)})` : ''}\n`);
    return 2;
  }

  const [{ InferenceEngine }, { speechGateOption }] = await Promise.all([import('../inference/engine.js'), import('../inference/gate-options.js')]);
  const engine = await InferenceEngine.open({ ...config.model, modelPath, speechGate: speechGateOption(config.audio) });
  const t0 = performance.now();
  let scored;
  try {
    scored = await ev.scoreClips(manifest.rows, engine, config.audio.minSpeechRatio, vadOptionsOf(config.audio));
  } finally {
    await engine.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const failures = scored.filter((s): s is Extract<typeof s, Error> => s instanceof Error);
  for (const f of failures) err.write(f.message + '\n');
  const clips = scored.filter((s): s is Exclude<typeof s, Error> => !(s instanceof Error));
  const sim = ev.simulate(card, clips, history, seed);
  const clipsPerSecond = clips.length / seconds;
  const result: Evaluation = {
    clips: clips.length,
    skipped,
    skippedLabels: manifest.skipped,
    noSpeech: sim.noSpeech,
    unreadable: failures.length,
    speakers: sim.speakers,
    seed,
    seconds: round(seconds, 3),
    clipsPerSecond: round(clipsPerSecond, 2),
    labels: [...card.labels],
    results: sim.results.map((r) => ({ ...r, clipsPerSecond: round(clipsPerSecond, 2) })),
  };
  out.write(values.json ? JSON.stringify(result) + '\n' : text(result, manifest.source ?? `${positionals[0]} (labels from CREMA-D style file names)`));
  if (failures.length > 0) err.write(`${failures.length} of ${manifest.rows.length} clip(s) could not be read and were left out\n`);
  return failures.length > 0 ? 1 : 0;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function fmtSkipped(s: Record<string, number>): string {
  return Object.entries(s)
    .map(([l, n]) => `${l} ${n}`)
    .join(', ');
}

function text(e: Evaluation, source: string): string {
  const pct = (x: number | null): string => (x === null ? '  -  ' : (100 * x).toFixed(1).padStart(5));
  const lines = [
    `${source}: ${e.clips} clips of ${e.speakers} speakers${e.skipped ? `, ${e.skipped} rows skipped (${fmtSkipped(e.skippedLabels)})` : ''}${e.noSpeech ? `, ${e.noSpeech} with no speech window (scored as wrong)` : ''}${e.unreadable ? `, ${e.unreadable} unreadable` : ''}`,
    `${e.seconds.toFixed(1)} s, ${e.clipsPerSecond.toFixed(1)} clips/s (every history length from one pass); seed ${e.seed}`,
    '',
    'history s | windows | probs: accuracy  macro-F1  ECE   | adjusted: accuracy  macro-F1  ECE',
  ];
  for (const r of e.results) {
    lines.push(
      `${String(r.history).padStart(9)} | ${r.meanHistoryWindows.toFixed(1).padStart(7)} |        ${pct(r.accuracy)}%   ${r.macroF1.toFixed(3)}   ${r.ece.toFixed(3)} |           ${pct(r.adjusted.accuracy)}%   ${r.adjusted.macroF1.toFixed(3)}   ${r.adjusted.ece.toFixed(3)}`,
    );
  }
  const perClass = (title: string, m: Metrics): void => {
    lines.push('', `${title}  recall / precision %`, '  ' + e.labels.map((l) => l.padStart(13)).join(''));
    lines.push('  ' + m.perClass.map((c) => `${pct(c.recall)} / ${pct(c.precision)}`.padStart(13)).join(''));
    lines.push(`${title}  confusion (rows true, columns predicted)`, '      ' + e.labels.map((l) => l.padStart(5)).join(''));
    m.confusion.forEach((row, i) => lines.push(`  ${e.labels[i]!.padEnd(4)}${row.map((n) => String(n).padStart(5)).join('')}`));
  };
  perClass('probs (every H)', e.results[0]!);
  for (const r of e.results) if (r.history > 0) perClass(`adjusted, H ${r.history} s`, r.adjusted);
  return lines.join('\n') + '\n';
}

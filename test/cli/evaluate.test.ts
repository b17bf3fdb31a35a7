import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/analyze.js';
import { evaluateCommand } from '../../src/cli/evaluate.js';
import { UsageError } from '../../src/cli/usage.js';
import type { Evaluation, Metrics } from '../../src/offline/evaluate.js';
import type { FileAnalysis } from '../../src/offline/analyze.js';
import { CLIPS, HAVE_CREMA_D, REPO, testActors } from '../helpers/paths.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];

function sink(): { stream: Writable; text: () => string } {
  let s = '';
  return {
    stream: new Writable({
      write(chunk, _enc, cb) {
        s += String(chunk);
        cb();
      },
    }),
    text: () => s,
  };
}

async function evaluate(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await evaluateCommand(args, out.stream, err.stream);
  return { code, out: out.text(), err: err.text() };
}

function checkConsistent(m: Metrics, clips: number): void {
  const k = LABELS.length;
  expect(m.confusion).toHaveLength(k);
  for (const row of m.confusion) expect(row).toHaveLength(k);
  const trace = m.confusion.reduce((s, row, i) => s + row[i]!, 0);
  const noSpeech = m.perClass.reduce((s, c) => s + c.noSpeech, 0);
  // A clip without a speech window is wrong and outside the matrix: accuracy = trace / (sum + noSpeech).
  expect(m.confusion.flat().reduce((a, b) => a + b, 0) + noSpeech).toBe(clips);
  expect(m.accuracy).toBeCloseTo(trace / clips, 12);
  expect(m.perClass.map((c) => c.label)).toEqual(LABELS);
  m.perClass.forEach((c, i) => {
    const row = m.confusion[i]!.reduce((a, b) => a + b, 0) + c.noSpeech;
    const col = m.confusion.reduce((a, r) => a + r[i]!, 0);
    expect(c.support).toBe(row);
    if (row > 0) expect(c.recall).toBeCloseTo(m.confusion[i]![i]! / row, 12);
    else expect(c.recall).toBeNull();
    if (col > 0) expect(c.precision).toBeCloseTo(m.confusion[i]![i]! / col, 12);
    else expect(c.precision).toBeNull();
  });
  const f1s = m.perClass.filter((c) => c.support > 0).map((c) => c.f1!);
  expect(m.macroF1).toBeCloseTo(f1s.reduce((a, b) => a + b, 0) / f1s.length, 12);
  expect(m.ece).toBeGreaterThanOrEqual(0);
  expect(m.ece).toBeLessThanOrEqual(1);
}

describe.skipIf(!HAVE_CREMA_D)('ser-ari evaluate on CREMA-D test actors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ser-evaluate-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const picked: { file: string; actor: string; emotion: string }[] = [];

  beforeAll(() => {
    // Two held-out actors, two clips of each emotion each: 24 clips, with clips/ as in the shared copy.
    mkdirSync(join(dir, 'clips'));
    const all = readdirSync(CLIPS).sort();
    for (const actor of testActors().slice(0, 2)) {
      for (const emotion of LABELS) {
        for (const f of all.filter((n) => n.startsWith(`${actor}_`) && n.includes(`_${emotion}_`)).slice(0, 2)) {
          symlinkSync(join(CLIPS, f), join(dir, 'clips', f));
          picked.push({ file: `clips/${f}`, actor, emotion });
        }
      }
    }
    writeFileSync(join(dir, 'broken.wav'), 'RIFF....not a wave file');
    const rows = picked.map((p) => `${p.file},${p.actor},${p.emotion},F`);
    writeFileSync(join(dir, 'manifest.csv'), ['file,actor,emotion,sex', ...rows, `clips/${picked[0]!.file.slice(6)},${picked[0]!.actor},CAL,F`, `${picked[1]!.file},${picked[1]!.actor},XXX,F`].join('\n') + '\n');
    writeFileSync(join(dir, 'with-broken.csv'), ['file,speaker,emotion', ...picked.slice(0, 3).map((p) => `${p.file},${p.actor},${p.emotion}`), `broken.wav,x,ANG`, `missing.wav,x,SAD`].join('\n') + '\n');
    writeFileSync(join(dir, 'odd.csv'), 'path,label,who\na.wav,ANG,1\n');
  });

  let first: Evaluation;

  it('prints one JSON object: counts, and per history length the metrics of probs and of adjusted, consistent with the confusion matrix', async () => {
    const { code, out, err } = await evaluate([dir, '--json', '--history', '0,3,10']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    first = JSON.parse(out) as Evaluation;
    expect(first).toMatchObject({ clips: picked.length, skipped: 2, skippedLabels: { CAL: 1, XXX: 1 }, unreadable: 0, speakers: 2, seed: 1 });
    expect(first.clipsPerSecond).toBeGreaterThan(0);
    expect(first.results.map((r) => r.history)).toEqual([0, 3, 10]);
    for (const r of first.results) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['history', 'accuracy', 'macroF1', 'ece', 'perClass', 'confusion', 'adjusted', 'clipsPerSecond']));
      checkConsistent(r, picked.length);
      checkConsistent(r.adjusted, picked.length);
      // The absolute probabilities do not depend on the caller's history.
      expect(r.confusion).toEqual(first.results[0]!.confusion);
    }
    expect(first.results[1]!.meanHistoryWindows).toBeCloseTo(3, 12);
    expect(first.results[2]!.meanHistoryWindows).toBeCloseTo(10, 12);
  });

  it('H = 0 is what analyze says of each file (the dominant of its mean over speech windows)', async () => {
    const out = sink();
    await analyzeCommand([...picked.map((p) => join(dir, p.file)), '--json'], out.stream);
    const files = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FileAnalysis);
    expect(files).toHaveLength(picked.length);
    const confusion = LABELS.map(() => LABELS.map(() => 0));
    let noSpeech = 0;
    files.forEach((f, i) => {
      const dominant = f.summary.channels[0]!.dominant;
      if (dominant === null) noSpeech++;
      else confusion[LABELS.indexOf(picked[i]!.emotion)]![LABELS.indexOf(dominant)]!++;
    });
    expect(first.results[0]!.confusion).toEqual(confusion);
    expect(first.noSpeech).toBe(noSpeech);
  });

  it('is reproducible for a seed; another seed draws another history', async () => {
    const again = JSON.parse((await evaluate([dir, '--json', '--history', '0,3,10'])).out) as Evaluation;
    const strip = (e: Evaluation): unknown => JSON.stringify({ ...e, seconds: 0, clipsPerSecond: 0, results: e.results.map((r) => ({ ...r, clipsPerSecond: 0 })) });
    expect(strip(again)).toBe(strip(first));
    const other = JSON.parse((await evaluate([dir, '--json', '--history', '0,3,10', '--seed', '2'])).out) as Evaluation;
    expect(other.results[0]).toEqual({ ...first.results[0], clipsPerSecond: other.results[0]!.clipsPerSecond });
    // With 3 windows of history out of 11 other clips, the draw differs: the adjusted calibration moves.
    expect(other.results[1]!.adjusted.ece).not.toBe(first.results[1]!.adjusted.ece);
  });

  it('names unreadable and missing clips on stderr, scores the rest, exit code 1', async () => {
    const { code, out, err } = await evaluate([dir, '--manifest', 'with-broken.csv', '--json', '--history', '0']);
    expect(code).toBe(1);
    expect(err).toMatch(/broken\.wav: not a RIFF\/WAVE file/);
    expect(err).toMatch(/missing\.wav: cannot be read \(ENOENT\)/);
    expect(err).toMatch(/2 of 5 clip\(s\) could not be read/);
    expect(JSON.parse(out)).toMatchObject({ clips: 3, unreadable: 2 });
  });

  it('refuses a missing manifest, unknown columns (listing those found), a bad --history', async () => {
    await expect(evaluate([dir, '--manifest', 'nope.csv'])).rejects.toThrow(UsageError);
    await expect(evaluate([dir, '--manifest', 'nope.csv'])).rejects.toThrow(/nope\.csv not found/);
    await expect(evaluate([dir, '--manifest', 'odd.csv'])).rejects.toThrow(/columns found: path, label, who/);
    for (const bad of ['10,x', '-5', '', '1,,2']) await expect(evaluate([dir, '--history', bad])).rejects.toThrow(/--history wants seconds/);
  });

  it('reads CREMA-D style names when the folder has no manifest; a bad --history is exit 2 with one line from the CLI', async () => {
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    for (const p of picked.filter((_, i) => i % 6 === 0)) symlinkSync(resolve(dir, p.file), join(bare, p.file.slice(6)));
    const { code, out } = await evaluate([bare, '--json', '--history', '0,10']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ clips: 4, skipped: 0, speakers: 2 });

    const run = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO, 'src/cli/main.ts'), 'evaluate', bare, '--history', '0,ten'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('exit', (c) => done({ code: c, stderr }));
    });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(['ser-ari evaluate: --history wants seconds >= 0 separated by commas (e.g. 0,10,30,60), got "0,ten" (ser-ari evaluate --help)']);
  });
});

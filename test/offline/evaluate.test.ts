import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ManifestError,
  expectedCalibrationError,
  historyOrder,
  historyWindows,
  loadManifest,
  metrics,
  parseCsv,
  simulate,
  type ScoredClip,
} from '../../src/offline/evaluate.js';
import { MODEL } from '../helpers/paths.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
const dir = mkdtempSync(join(tmpdir(), 'ser-evaluate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('expectedCalibrationError (15 bins)', () => {
  it('is 0 when confidence matches accuracy in every bin', () => {
    // 0.5 confidence, half right; 1.0 confidence, all right.
    const items = [
      { confidence: 0.5, correct: true },
      { confidence: 0.5, correct: false },
      { confidence: 1, correct: true },
    ];
    expect(expectedCalibrationError(items)).toBeCloseTo(0, 12);
  });

  it('weights each bin by its share of the items', () => {
    // Bin 13 ([0.8667, 0.9333)): 3 items at 0.9, 1 right -> |1/3 - 0.9| = 0.5667, weight 3/4.
    // Bin 4 ([0.2667, 0.3333)): 1 item at 0.3, right -> |1 - 0.3| = 0.7, weight 1/4.
    const items = [
      { confidence: 0.9, correct: true },
      { confidence: 0.9, correct: false },
      { confidence: 0.9, correct: false },
      { confidence: 0.3, correct: true },
    ];
    expect(expectedCalibrationError(items)).toBeCloseTo(0.75 * (0.9 - 1 / 3) + 0.25 * 0.7, 12);
  });

  it('uses 15 equal bins: 0.34 and 0.39 share one, 0.40 starts the next; 1.0 is in the last', () => {
    // 0.34 and 0.39 in bin 5 ([1/3, 0.4)): mean conf 0.365, one right -> |0.5 - 0.365| = 0.135.
    const same = [
      { confidence: 0.34, correct: true },
      { confidence: 0.39, correct: false },
    ];
    expect(expectedCalibrationError(same)).toBeCloseTo(0.135, 12);
    // 0.39 and 0.41 in different bins: |1 - 0.39| / 2 + |0 - 0.41| / 2.
    const split = [
      { confidence: 0.39, correct: true },
      { confidence: 0.41, correct: false },
    ];
    expect(expectedCalibrationError(split)).toBeCloseTo((0.61 + 0.41) / 2, 12);
    // With 10 bins they would share [0.3, 0.4) only if both were below 0.4; the bin count is a parameter.
    expect(expectedCalibrationError(split, 2)).toBeCloseTo(Math.abs(0.5 - 0.4), 12);
    expect(expectedCalibrationError([{ confidence: 1, correct: false }])).toBeCloseTo(1, 12);
    expect(expectedCalibrationError([])).toBe(0);
  });
});

describe('metrics', () => {
  const p = (top: number, conf = 0.6): number[] => LABELS.map((_, i) => (i === top ? conf : (1 - conf) / 5));

  it('accuracy, recall, precision and macro-F1 follow the confusion matrix; a clip without speech is wrong', () => {
    const items = [
      { label: 0, probs: p(0) },
      { label: 0, probs: p(1) },
      { label: 1, probs: p(1) },
      { label: 2, probs: p(2) },
      { label: 2, probs: null }, // no speech window
    ];
    const m = metrics(LABELS, items);
    expect(m.confusion[0]).toEqual([1, 1, 0, 0, 0, 0]);
    expect(m.confusion[2]).toEqual([0, 0, 1, 0, 0, 0]);
    expect(m.accuracy).toBeCloseTo(3 / 5, 12);
    const [ang, dis, fea, hap] = m.perClass;
    expect(ang).toMatchObject({ label: 'ANG', recall: 0.5, precision: 1, support: 2, noSpeech: 0 });
    expect(dis).toMatchObject({ recall: 1, precision: 0.5 });
    expect(fea).toMatchObject({ recall: 0.5, precision: 1, support: 2, noSpeech: 1 });
    expect(hap).toMatchObject({ recall: null, precision: null, f1: null, support: 0 });
    // F1 over the three labels present: ANG 2/3, DIS 2/3, FEA 2/3.
    expect(m.macroF1).toBeCloseTo(2 / 3, 12);
    expect(m.ece).toBeCloseTo(Math.abs(0.75 - 0.6), 12); // four verdicts at 0.6, three right
  });
});

describe('parseCsv', () => {
  it('reads quotes, doubled quotes, CRLF, a BOM and semicolons', () => {
    expect(parseCsv('\ufefffile,emotion\r\n"a, b.wav",ANG\r\n"say ""hi"".wav",SAD\n')).toEqual([
      ['file', 'emotion'],
      ['a, b.wav', 'ANG'],
      ['say "hi".wav', 'SAD'],
    ]);
    expect(parseCsv('file;emotion\nx.wav;NEU')).toEqual([
      ['file', 'emotion'],
      ['x.wav', 'NEU'],
    ]);
  });
});

describe('loadManifest', () => {
  const folder = join(dir, 'data');
  mkdirSync(join(folder, 'clips'), { recursive: true });
  for (const f of ['1001_DFA_ANG_XX.wav', '1001_IEO_SAD_HI.wav', '1002_DFA_NEU_XX.wav']) writeFileSync(join(folder, 'clips', f), 'x');

  it('without a manifest, reads CREMA-D style names (speaker, emotion) from the folder and its subfolders', () => {
    const m = loadManifest(folder, undefined, LABELS);
    expect(m.source).toBeNull();
    expect(m.rows.map((r) => [r.file, r.speaker, r.emotion])).toEqual([
      ['clips/1001_DFA_ANG_XX.wav', '1001', 'ANG'],
      ['clips/1001_IEO_SAD_HI.wav', '1001', 'SAD'],
      ['clips/1002_DFA_NEU_XX.wav', '1002', 'NEU'],
    ]);
  });

  it('reads file, emotion and speaker or actor columns; other labels are skipped and counted; bare names are found in subfolders', () => {
    writeFileSync(join(folder, 'labels.csv'), 'File,Actor,Emotion,extra\n1001_DFA_ANG_XX.wav,1001,ang,x\nclips/1002_DFA_NEU_XX.wav,1002,NEU,\nz.wav,1003,CAL,\nw.wav,1003,,\n\n');
    const m = loadManifest(folder, 'labels.csv', LABELS);
    expect(m.rows.map((r) => [r.path, r.speaker, r.emotion])).toEqual([
      [join(folder, 'clips/1001_DFA_ANG_XX.wav'), '1001', 'ANG'],
      [join(folder, 'clips/1002_DFA_NEU_XX.wav'), '1002', 'NEU'],
    ]);
    expect(m.skipped).toEqual({ CAL: 1, '(empty)': 1 });
  });

  it('refuses a missing manifest, missing columns (listing those found), a folder without labels', () => {
    expect(() => loadManifest(folder, 'nope.csv', LABELS)).toThrow(ManifestError);
    expect(() => loadManifest(folder, 'nope.csv', LABELS)).toThrow(/nope\.csv not found/);
    writeFileSync(join(folder, 'bad.csv'), 'path,label,who\na.wav,ANG,1\n');
    expect(() => loadManifest(folder, 'bad.csv', LABELS)).toThrow(/no "file", "emotion", "speaker \(or actor\)" column; columns found: path, label, who/);
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'hello.wav'), 'x');
    expect(() => loadManifest(plain, undefined, LABELS)).toThrow(/no manifest\.csv and its file names are not CREMA-D style.*hello\.wav: give --manifest/);
    expect(() => loadManifest(join(dir, 'absent'), undefined, LABELS)).toThrow(/no such folder/);
  });
});

describe('history draw and simulation', () => {
  const w = (top: number, conf = 0.7): Float32Array => Float32Array.from(LABELS.map((_, i) => (i === top ? conf : (1 - conf) / 5)));
  const clip = (file: string, speaker: string, emotion: string, speech: Float32Array[]): ScoredClip => ({ row: { file, path: `/x/${file}`, speaker, emotion }, speech });
  const a = Array.from({ length: 12 }, (_, i) => clip(`a${i}.wav`, 'A', LABELS[i % 6]!, [w(i % 6), w((i + 1) % 6)]));
  const b = [clip('b0.wav', 'B', 'ANG', [w(0)]), clip('b1.wav', 'B', 'SAD', []), clip('b2.wav', 'B', 'NEU', [w(4)])];

  it('draws only the same speaker\'s other clips, reproducibly for a seed, differently for another', () => {
    const o1 = historyOrder(a[0]!, a, 1);
    expect(o1).toHaveLength(11);
    expect(o1).not.toContain(a[0]);
    expect(historyOrder(a[0]!, a, 1)).toEqual(o1);
    expect(historyOrder(a[0]!, a, 2).map((c) => c.row.file)).not.toEqual(o1.map((c) => c.row.file));
    // A longer history extends a shorter one; windows are taken clip by clip, in order.
    const h3 = historyWindows(o1, 3);
    expect(h3).toEqual([o1[0]!.speech[0], o1[0]!.speech[1], o1[1]!.speech[0]]);
    expect(historyWindows(o1, 10).slice(0, 3)).toEqual(h3);
    expect(historyWindows(historyOrder(b[0]!, b, 1), 60)).toHaveLength(1); // all B has besides the clip
  });

  it('an unfamiliar speaker the model is confidently wrong about: same verdicts, far lower calibration error once heard for a while', () => {
    const shipped = JSON.parse(readFileSync(MODEL.replace(/\.onnx$/, '.json'), 'utf8')) as { labels: string[]; hopSeconds: number; callerBaseline: Record<string, unknown> };
    const unsoftened = { ...shipped, callerBaseline: { ...shipped.callerBaseline, softening: undefined } };
    // Every window "FEA 0.99", far from every class mean of the training speech; right on the FEA clips only.
    const far = Float32Array.from([0.002, 0.002, 0.99, 0.002, 0.002, 0.002]);
    const u = Array.from({ length: 24 }, (_, i) => clip(`u${i}.wav`, 'U', LABELS[i % 6]!, [far, far, far]));
    const soft = simulate(shipped, u, [0, 30], 1).results;
    const hard = simulate(unsoftened, u, [0, 30], 1).results;
    for (let h = 0; h < 2; h++) {
      expect(soft[h]!.confusion).toEqual(hard[h]!.confusion);
      expect(soft[h]!.accuracy).toBeCloseTo(1 / 6, 12);
      expect(hard[h]!.ece).toBeCloseTo(0.99 - 1 / 6, 2);
      expect(soft[h]!.ece).toBeLessThan(hard[h]!.ece);
    }
    // With 30 s of the speaker's speech heard, the product's confidence is less than half of the model's.
    expect(soft[1]!.ece).toBeLessThan(soft[0]!.ece);
    expect(soft[1]!.ece).toBeLessThan(hard[1]!.ece / 2);
  });

  it('without a caller model in the card, absolute results do not depend on history; a clip without speech counts as wrong at every H', () => {
    const card = { labels: LABELS, hopSeconds: 1, callerBaseline: undefined };
    const { results, noSpeech, speakers } = simulate(card, [...a, ...b], [0, 3, 30], 1);
    expect(noSpeech).toBe(1);
    expect(speakers).toBe(2);
    expect(results.map((r) => r.historyWindows)).toEqual([0, 3, 30]);
    // A: 11 other clips x 2 windows each; B has 1, 2 and 1 speech windows besides each clip (b1 has none).
    expect(results[1]!.meanHistoryWindows).toBeCloseTo((12 * 3 + 4) / 15, 12);
    expect(results[2]!.meanHistoryWindows).toBeCloseTo((12 * 22 + 4) / 15, 12);
    for (const r of results) {
      expect(r.accuracy).toBe(results[0]!.accuracy);
      const scored = r.confusion.flat().reduce((x, y) => x + y, 0);
      expect(scored).toBe(14);
      expect(r.accuracy).toBeCloseTo(r.confusion.reduce((s, row, i) => s + row[i]!, 0) / 15, 12);
      // Without a baseline in the card, adjusted equals absolute.
      expect(r.adjusted).toEqual({ accuracy: r.accuracy, macroF1: r.macroF1, ece: r.ece, perClass: r.perClass, confusion: r.confusion });
    }
  });
});

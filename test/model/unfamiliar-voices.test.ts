import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vadOptionsOf } from '../../src/audio/vad.js';
import { loadConfig } from '../../src/config/load.js';
import { callerModelFromCard } from '../../src/emotion/caller-baseline.js';
import { EmotionTracker } from '../../src/emotion/tracker.js';
import { speechGateOption } from '../../src/inference/gate-options.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { loadModelCard } from '../../src/inference/model-card.js';
import { loadManifest, scoreClips, simulate, type ScoredClip } from '../../src/offline/evaluate.js';
import { CREMA_D, HAVE_CREMA_D, MODEL, REPO, testActors } from '../helpers/paths.js';

const XCORPUS = resolve(REPO, '../shared/data/xcorpus-8k');
const HAVE_XCORPUS = existsSync(join(XCORPUS, 'manifest.csv'));

/**
 * Issue 14's off-domain gate, in CI: the product's own path (`ser-ari evaluate`'s: the live windowing,
 * VAD, speech gate, model and caller state) on the four evaluation-only corpora and on the CREMA-D test
 * actors. Softening unfamiliar voices must make the probabilities the rules read honest off-domain without
 * costing CREMA-D's callers much. Measured when written (models/README.md): xcorpus ECE at 30 s 0.30-0.35
 * unsoftened, 0.13-0.16 softened; CREMA-D test ECE 0.04 either way.
 */
describe.skipIf(!HAVE_CREMA_D || !HAVE_XCORPUS)('unfamiliar voices: xcorpus-8k and CREMA-D test actors through the product', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ser-unfamiliar-'));
  const card = loadModelCard(MODEL) as ReturnType<typeof loadModelCard> & { callerBaseline: Record<string, unknown>; split: { test: string[] }; trainingData: { excluded: string[] } };
  const unsoftened = { ...card, callerBaseline: { ...card.callerBaseline, softening: undefined } };
  const scored = new Map<string, ScoredClip[]>();

  beforeAll(async () => {
    const { config } = loadConfig({});
    const engine = await InferenceEngine.open({ ...config.model, modelPath: MODEL, speechGate: speechGateOption(config.audio) });
    try {
      const [head, ...lines] = readFileSync(join(XCORPUS, 'manifest.csv'), 'utf8').trim().split('\n');
      for (const corpus of ['emodb', 'emovo', 'nemo', 'ased']) {
        writeFileSync(join(dir, `${corpus}.csv`), [head, ...lines.filter((l) => l.split(',')[1] === corpus)].join('\n') + '\n');
      }
      const test = new Set(testActors());
      const excluded = new Set(card.trainingData.excluded);
      const [chead, ...clines] = readFileSync(join(CREMA_D, 'manifest.csv'), 'utf8').trim().split('\n');
      const cols = chead!.split(',');
      writeFileSync(
        join(dir, 'crema-d.csv'),
        [chead, ...clines.filter((l) => test.has(l.split(',')[cols.indexOf('actor')]!) && !excluded.has(l.split(',')[cols.indexOf('file')]!))].join('\n') + '\n',
      );
      for (const name of ['crema-d', 'emodb', 'emovo', 'nemo', 'ased']) {
        const manifest = loadManifest(name === 'crema-d' ? CREMA_D : XCORPUS, join(dir, `${name}.csv`), card.labels);
        const clips = await scoreClips(manifest.rows, engine, config.audio.minSpeechRatio, vadOptionsOf(config.audio));
        scored.set(name, clips.filter((c): c is ScoredClip => !(c instanceof Error)));
      }
    } finally {
      await engine.close();
    }
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('with 30 s of the caller heard, every foreign corpus is at most 0.17 ECE, near half of the model\'s own or less; the verdicts barely move', () => {
    const adjusted: number[][] = [];
    for (const corpus of ['emodb', 'emovo', 'nemo', 'ased']) {
      const clips = scored.get(corpus)!;
      expect(clips.length, corpus).toBeGreaterThan(400);
      const [soft0, soft30] = simulate(card, clips, [0, 30], 1).results;
      const [hard0, hard30] = simulate(unsoftened, clips, [0, 30], 1).results;
      console.log(`${corpus}: ECE H0 ${hard0!.ece.toFixed(3)} -> ${soft0!.ece.toFixed(3)}, H30 ${hard30!.ece.toFixed(3)} -> ${soft30!.ece.toFixed(3)} (adjusted ${hard30!.adjusted.ece.toFixed(3)} -> ${soft30!.adjusted.ece.toFixed(3)}); accuracy H30 ${(hard30!.accuracy * 100).toFixed(1)} -> ${(soft30!.accuracy * 100).toFixed(1)}`);
      expect(hard30!.ece, `${corpus}: the model alone is overconfident here`).toBeGreaterThan(0.25);
      expect(soft30!.ece, corpus).toBeLessThanOrEqual(0.17);
      expect(soft30!.ece, corpus).toBeLessThan(hard30!.ece * 0.55);
      expect(soft0!.ece, corpus).toBeLessThan(hard0!.ece);
      expect(Math.abs(soft30!.accuracy - hard30!.accuracy), corpus).toBeLessThanOrEqual(0.01);
      adjusted.push([hard30!.adjusted.ece, soft30!.adjusted.ece]);
    }
    // The caller-relative probabilities too, over the four (EmoDB's alone gets worse: 0.198 -> 0.220 when written).
    const mean = (i: number): number => adjusted.reduce((s, e) => s + e[i]!, 0) / adjusted.length;
    expect(mean(1)).toBeLessThan(mean(0) * 0.75);
  });

  it('a test actor angry (or afraid) all call reaches the rules\' threshold as often as without the softening (at most 2 points less)', () => {
    // Each actor's clips of one emotion, in file order, as one call through the live tracker (smoothing 0.5):
    // the share of windows whose smoothed ANG+DIS (FEA+SAD) is above 0.6, what the example rules read.
    const clips = scored.get('crema-d')!;
    const { config } = loadConfig({});
    for (const [emotion, pooled] of [['ANG', ['ANG', 'DIS']], ['FEA', ['FEA', 'SAD']]] as const) {
      const share = (c: typeof card | typeof unsoftened): number => {
        let over = 0;
        let total = 0;
        for (const actor of testActors()) {
          const t = new EmotionTracker(actor, card.labels, config.emotion.smoothing, callerModelFromCard(c));
          for (const clip of clips.filter((x) => x.row.speaker === actor && x.row.emotion === emotion)) {
            for (const w of clip.speech) {
              const u = t.observe({ start: 0, end: 3, speechRatio: 1, dbfs: -20, probs: w, completedAt: performance.now() });
              over += pooled.reduce((s, l) => s + u.probs[l]!, 0) > 0.6 ? 1 : 0;
              total++;
            }
          }
        }
        return over / total;
      };
      const soft = share(card);
      const hard = share(unsoftened);
      console.log(`${emotion} all call: ${pooled.join('+')} > 0.6 in ${(hard * 100).toFixed(1)}% of windows without softening, ${(soft * 100).toFixed(1)}% with`);
      // The first softening, fitted without a constraint for these callers, took FEA from 68.2% to 63.7% and
      // delayed the abuse rule on the real-Asterisk angry caller by 4 windows; a second, constrained on the
      // validation actors only, still 65.7% and the same delay in some runs. Shipped: ANG 63.4% -> 63.4%, FEA 68.2% -> 67.2%.
      expect(soft, emotion).toBeGreaterThanOrEqual(hard - 0.02);
    }
  });

  it('CREMA-D test actors keep their accuracy and stay calibrated (ECE <= 0.05) at 0 and 30 s', () => {
    const clips = scored.get('crema-d')!;
    expect(clips.length).toBe(1145);
    const soft = simulate(card, clips, [0, 30], 1).results;
    const hard = simulate(unsoftened, clips, [0, 30], 1).results;
    for (const [i, r] of soft.entries()) {
      expect(r.ece, `H${r.history}`).toBeLessThanOrEqual(0.05);
      expect(r.accuracy, `H${r.history}`).toBeGreaterThanOrEqual(hard[i]!.accuracy - 0.005);
      expect(r.accuracy, `H${r.history}`).toBeGreaterThan(0.57);
    }
  });
});

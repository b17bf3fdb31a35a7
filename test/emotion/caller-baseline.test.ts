import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CallerBaseline, callerModelFromCard, type CallerModel } from '../../src/emotion/caller-baseline.js';
import { EmotionTracker } from '../../src/emotion/tracker.js';
import { emotionEventInput } from '../../src/events/from-tracker.js';
import { MODEL } from '../helpers/paths.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
const shippedCard = JSON.parse(readFileSync(MODEL.replace(/\.onnx$/, '.json'), 'utf8')) as { labels: string[]; callerBaseline: unknown };
const shipped = callerModelFromCard(shippedCard)!;

/** A model whose training-set average output is uniform, with the shipped variant (prob, alpha 1, k 10). */
const uniform: CallerModel = {
  variant: { name: 'prob a=1 k=10', kind: 'prob', alpha: 1, k: 10, cap: 0 },
  reference: { meanP: new Array(6).fill(1 / 6), meanLogp: new Array(6).fill(Math.log(1 / 6)) },
  familiarity: null,
  softening: null,
};

const FEA_LEANING = [0.1, 0.1, 0.4, 0.1, 0.2, 0.1];
const NEUTRAL_WINDOW = [0.1, 0.1, 0.15, 0.1, 0.45, 0.1];

function obs(probs: number[] | null, end: number) {
  return { start: end - 3, end, speechRatio: probs ? 0.9 : 0, dbfs: -20, probs: probs ? Float32Array.from(probs) : null, completedAt: performance.now() };
}

describe('CallerBaseline', () => {
  it('returns a window before any history unchanged (cold start is the raw model)', () => {
    const b = new CallerBaseline(6, shipped);
    const raw = Float32Array.from([0.05, 0.1, 0.5, 0.15, 0.1, 0.1]);
    const out = b.adjust(raw, new Float64Array(6));
    expect(Array.from(out)).toEqual(Array.from(raw));
  });

  it('reduces the FEA bias of a caller whose every window leans FEA, after H windows, and more with more history', () => {
    const b = new CallerBaseline(6, uniform);
    const out = new Float64Array(6);
    const feaAfter: number[] = [];
    for (let h = 0; h <= 30; h++) {
      if ([0, 3, 10, 30].includes(h)) feaAfter.push(b.adjust(FEA_LEANING, out)[2]!);
      b.add(FEA_LEANING);
    }
    expect(feaAfter[0]).toBeCloseTo(0.4, 6);
    // Shrinkage k = 10: 3 windows move it a little, 10 and 30 more.
    expect(feaAfter[1]!).toBeLessThan(0.4);
    expect(feaAfter[1]!).toBeGreaterThan(0.3);
    expect(feaAfter[2]!).toBeLessThan(feaAfter[1]!);
    expect(feaAfter[3]!).toBeLessThan(feaAfter[2]!);
    // With the whole bias removed (n/(n+10) = 0.75 of it at 30 windows) FEA is no longer this caller's top label.
    const adjusted = b.adjust(FEA_LEANING, out);
    expect(adjusted[2]!).toBeLessThan(0.25);
    // ... but a window that departs from the caller's habit (more NEU than usual) is read as such.
    const n = b.adjust(NEUTRAL_WINDOW, new Float64Array(6));
    expect(n.indexOf(Math.max(...n))).toBe(4);
    expect(n[4]! / n[2]!).toBeGreaterThan(NEUTRAL_WINDOW[4]! / NEUTRAL_WINDOW[2]!);
  });

  it('keeps O(1) state: the sums only, whatever the call length', () => {
    const b = new CallerBaseline(6, uniform);
    for (let i = 0; i < 10_000; i++) b.add(FEA_LEANING);
    expect(b.windows).toBe(10_000);
    // After 10,000 windows the correction is 10000/10010 of the caller's habit: their usual window reads as nearly uniform.
    for (const p of b.adjust(FEA_LEANING, new Float64Array(6))) expect(p).toBeCloseTo(1 / 6, 3);
  });

  it('reports familiarity only after enough speech, near 1 for outputs like CREMA-D validation callers and 0 far from them', () => {
    const f = shipped.familiarity!;
    const typical = new CallerBaseline(6, shipped);
    const atMean = windowAtClassMean(4); // NEU
    for (let i = 0; i < f.minWindows - 1; i++) typical.add(atMean);
    expect(typical.familiarity()).toBeNaN();
    typical.add(atMean);
    expect(typical.familiarity()).toBeGreaterThan(0.9);
    const odd = new CallerBaseline(6, shipped);
    for (let i = 0; i < 10; i++) odd.add([0.001, 0.001, 0.99, 0.001, 0.006, 0.001]);
    expect(odd.familiarity()).toBeLessThan(0.05);
  });

  it('reads the shipped card: the variant chosen by the measurement', () => {
    expect(shipped.variant).toMatchObject({ kind: 'prob', alpha: 1, k: 10, cap: 0 });
    expect(shipped.reference.meanP.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(callerModelFromCard({ labels: LABELS })).toBeNull();
  });
});

/** A window whose centred log-probs sit at a class mean of the training actors' windows (familiarity distance 0). */
function windowAtClassMean(c: number): number[] {
  const mu = shipped.familiarity!.means[c]!; // centred log-prob space, first 5 dimensions
  const logits = [...mu, -mu.reduce((a, v) => a + v, 0)]; // centred: the 6th coordinate is minus the others' sum
  const z = logits.reduce((s, v) => s + Math.exp(v), 0);
  return logits.map((v) => Math.exp(v) / z);
}

/** Confidently FEA, far from every class mean: how the model hears a dial tone or a voice unlike CREMA-D's. */
const FAR = [0.002, 0.002, 0.99, 0.002, 0.002, 0.002];

describe('softening unfamiliar voices', () => {
  const argmax = (x: ArrayLike<number>): number => Array.from(x).indexOf(Math.max(...Array.from(x)));

  it('reads the shipped card\'s softening', () => {
    expect(shipped.softening).not.toBeNull();
    expect(shipped.softening!.slope).toBeGreaterThan(0);
    expect(shipped.softening!.onset).toBeGreaterThan(0);
  });

  it('leaves a voice like the training speech as it is, and softens a far one, more the longer it stays far, keeping the ranking', () => {
    const near = new CallerBaseline(6, shipped);
    for (let i = 0; i < 10; i++) near.add(windowAtClassMean(i % 6));
    expect(near.temperature()).toBe(1);
    const w = windowAtClassMean(0);
    expect(Array.from(near.soften(w, new Float64Array(6)))).toEqual(w);

    const far = new CallerBaseline(6, shipped);
    const temps: number[] = [];
    for (let i = 0; i < 30; i++) {
      far.add(FAR);
      temps.push(far.temperature());
    }
    expect(temps[29]!).toBeGreaterThan(1.5);
    for (let i = 1; i < temps.length; i++) expect(temps[i]!).toBeGreaterThanOrEqual(temps[i - 1]!);
    const out = far.soften(FAR, new Float64Array(6));
    expect(argmax(out)).toBe(2);
    expect(out[2]!).toBeLessThan(0.9);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // In place, as the tracker softens the adjusted window.
    const inPlace = Float64Array.from(FAR);
    expect(Array.from(far.soften(inPlace, inPlace))).toEqual(Array.from(out));
  });

  it('one odd window at the start of a call softens little: the distance is shrunk towards a typical caller\'s', () => {
    const withPrior = new CallerBaseline(6, shipped);
    withPrior.add(FAR);
    const noPrior = new CallerBaseline(6, { ...shipped, softening: { ...shipped.softening!, priorWindows: 0 } });
    noPrior.add(FAR);
    expect(shipped.softening!.priorWindows).toBeGreaterThan(0);
    expect(withPrior.temperature()).toBeLessThan(noPrior.temperature());
    expect(noPrior.temperature()).toBeGreaterThan(1);
  });

  it('without a softening entry (or with a broken one) the card softens nothing', () => {
    const card = JSON.parse(JSON.stringify(shippedCard)) as { labels: string[]; callerBaseline: { softening?: unknown } };
    delete card.callerBaseline.softening;
    const none = callerModelFromCard(card)!;
    expect(none.softening).toBeNull();
    card.callerBaseline.softening = { slope: -1, onset: 4, priorWindows: 0, priorDistance: 3 };
    expect(callerModelFromCard(card)!.softening).toBeNull();
    const b = new CallerBaseline(6, none);
    for (let i = 0; i < 30; i++) b.add(FAR);
    expect(b.temperature()).toBe(1);
    expect(Array.from(b.soften(FAR, new Float64Array(6)))).toEqual(FAR);
  });
});

describe('EmotionTracker with a caller baseline', () => {
  it('first window: adjusted equals probs; non-speech windows neither move nor count in the baseline', () => {
    const t = new EmotionTracker('c1', LABELS, 0.5, shipped);
    const a = t.observe(obs([0.1, 0.1, 0.5, 0.1, 0.1, 0.1], 3));
    expect(a.adjusted).toEqual(a.probs);
    expect(a.baselineWindows).toBe(1);
    expect(a.familiarity).toBeNaN();
    const s = t.observe(obs(null, 4));
    expect(s.baselineWindows).toBe(1);
    expect(s.adjusted).toEqual(a.adjusted);
    const e = emotionEventInput(s);
    expect(e.familiarity).toBeNull();
    // The caller's usual negativity is that of what was reported for them: one window so far.
    expect(e.baselineNegativity).toBeCloseTo(a.negativity, 12);
  });

  it('reports an unfamiliar caller softened: probs, raw and negativity, while a familiar caller is reported as the model said', () => {
    const far = new EmotionTracker('c1', LABELS, 0.5, shipped);
    const reportedNegativity: number[] = [];
    let last = far.observe(obs(FAR, 3));
    reportedNegativity.push(1 - last.raw!.HAP! - last.raw!.NEU!);
    for (let i = 1; i < 30; i++) {
      last = far.observe(obs(FAR, 3 + i));
      reportedNegativity.push(1 - last.raw!.HAP! - last.raw!.NEU!);
    }
    // The model said FEA 0.99 every second; what the rules read is well below it.
    expect(last.raw!.FEA!).toBeLessThan(0.9);
    expect(last.probs.FEA!).toBeLessThan(0.9);
    expect(last.dominant).toBe('FEA');
    expect(last.negativity).toBeLessThan(0.99);
    // The caller's usual negativity is the mean of what was reported, window by window (softened more as the call went on).
    expect(last.baselineNegativity).toBeCloseTo(reportedNegativity.reduce((a, b) => a + b, 0) / reportedNegativity.length, 9);
    expect(reportedNegativity.at(-1)!).toBeLessThan(reportedNegativity[0]!);
    expect(last.familiarity).toBeLessThan(0.05);

    const near = new EmotionTracker('c2', LABELS, 0.5, shipped);
    const angry = windowAtClassMean(0);
    let n = near.observe(obs(angry, 3));
    for (let i = 1; i < 30; i++) n = near.observe(obs(angry, 3 + i));
    expect(n.raw!.ANG!).toBeCloseTo(angry[0]!, 6);
    expect(n.probs.ANG!).toBeCloseTo(angry[0]!, 6);
  });

  it('a caller in one state all call fades toward their own average in `adjusted`, not in `probs` (why absolute rules read probs)', () => {
    const t = new EmotionTracker('c1', LABELS, 0.5, uniform);
    const angry = [0.6, 0.1, 0.05, 0.1, 0.1, 0.05];
    let last = t.observe(obs(angry, 3));
    for (let i = 1; i < 60; i++) last = t.observe(obs(angry, 3 + i));
    expect(last.probs.ANG).toBeCloseTo(0.6, 5);
    expect(last.adjusted.ANG!).toBeLessThan(0.3);
    expect(last.adjustedNegativity).toBeLessThan(last.negativity);
  });
});

import { describe, expect, it } from 'vitest';
import { describe as describeCondition, evaluate, initialState, leafCount } from '../../src/policy/condition.js';
import { parseRules } from '../../src/policy/load-rules.js';
import { readableRule } from '../../src/policy/readable.js';
import type { Condition } from '../../src/policy/rules-schema.js';
import { update, type Scores } from './world.js';

function cond(when: Record<string, unknown>): Condition {
  return parseRules({ rules: [{ name: 'c', when: { ...when, for: 1 }, actions: [{ setVars: { X: 1 } }] }] }).rules[0]!.when;
}

/** Evaluates a sequence of updates, carrying the hysteresis state, and returns whether it held on each. */
function trace(c: Condition, steps: (Scores | { loudness: number; speechRatio?: number })[]): boolean[] {
  let state = initialState(c);
  return steps.map((s, i) => {
    const u = 'loudness' in s ? { ...update('x', i + 1, i + 4, {}, i + 1), loudnessDbfs: s.loudness, speechRatio: s.speechRatio ?? 0.8 } : update('x', i + 1, i + 4, s, i + 1);
    const ev = evaluate(c, u, state);
    state = ev.state;
    return ev.holds;
  });
}

describe('condition evaluation', () => {
  it('above with a clear band: enters at the threshold, leaves only under clearBelow', () => {
    const c = cond({ signal: 'ANG', above: 0.7, clearBelow: 0.5 });
    expect(trace(c, [{ ANG: 0.69 }, { ANG: 0.7 }, { ANG: 0.55 }, { ANG: 0.5 }, { ANG: 0.49 }, { ANG: 0.6 }, { ANG: 0.71 }])).toEqual([
      false, true, true, true, false, false, true,
    ]);
  });

  it('below with a clear band, on loudness in dBFS (default band 3 dB)', () => {
    const c = cond({ signal: 'loudness', below: -40 });
    expect(trace(c, [{ loudness: -30 }, { loudness: -41 }, { loudness: -38 }, { loudness: -36.5 }, { loudness: -39 }])).toEqual([false, true, true, false, false]);
  });

  it('describes the default hysteresis band as people write it, without floating-point noise', () => {
    expect(describeCondition(cond({ signal: 'ANG+DIS', above: 0.6 }))).toBe('ANG+DIS >= 0.6 (clears < 0.55)');
  });

  it('negativityRise: negativity relative to this caller\'s own baseline, whatever the baseline; NaN before it exists never holds', () => {
    const c = cond({ signal: 'negativityRise', above: 0.3 });
    const at = (neg: number, baseline: number) => ({ ...update('x', 1, 4, { ANG: neg }, 1), baselineNegativity: baseline });
    const holds = (u: ReturnType<typeof at>) => evaluate(c, u, initialState(c)).holds;
    expect(holds(at(0.8, 0.45))).toBe(true); // calm caller turned hostile
    expect(holds(at(0.8, 0.6))).toBe(false); // a caller who is always this negative
    expect(holds(at(0.45, 0.1))).toBe(true); // from a very calm baseline, a rise the absolute threshold would miss
    expect(holds(at(0.9, Number.NaN))).toBe(false);
    expect(() => cond({ signal: 'negativityRise', above: 1.5 })).toThrow(/negativityRise is a difference of probabilities: expected -1\.\.1, got 1\.5/);
    expect(readableRule(parseRules({ rules: [{ name: 'r', when: { signal: 'negativityRise', above: 0.3, for: 1 }, actions: [{ setVars: { X: 1 } }] }] }).rules[0]!).readable).toMatch(
      /^Negativity 30 points above this caller's usual for 1 s/,
    );
  });

  it('a sum of labels reads the sum of their probabilities', () => {
    const c = cond({ signal: 'FEA+SAD', above: 0.6 });
    expect(trace(c, [{ FEA: 0.35, SAD: 0.3 }, { FEA: 0.5 }, { SAD: 0.59 }])).toEqual([true, false, false]);
  });

  it('all needs every part; each part keeps its own hysteresis state', () => {
    const c = cond({ all: [{ signal: 'ANG', above: 0.5, clearBelow: 0.3 }, { signal: 'speechRatio', above: 0.5, clearBelow: 0.5 }] });
    expect(leafCount(c)).toBe(2);
    // ANG enters on the first step while speech is too low, and is still on (above its clear level) when speech comes.
    let state = initialState(c);
    const step = (ang: number, ratio: number) => {
      const ev = evaluate(c, { ...update('x', 1, 4, { ANG: ang }, 1), speechRatio: ratio }, state);
      state = ev.state;
      return ev.holds;
    };
    expect([step(0.6, 0.2), step(0.4, 0.8), step(0.4, 0.8), step(0.25, 0.8), step(0.4, 0.8)]).toEqual([false, true, true, false, false]);
  });

  it('any holds when one part does, nested inside all', () => {
    const c = cond({ all: [{ signal: 'negativity', above: 0.7 }, { any: [{ signal: 'FEA', above: 0.4 }, { signal: 'SAD', above: 0.4 }] }] });
    expect(trace(c, [{ FEA: 0.5, ANG: 0.3 }, { SAD: 0.5, DIS: 0.3 }, { ANG: 0.9 }, { FEA: 0.45 }])).toEqual([true, true, false, false]);
  });

  it('a NaN score never holds', () => {
    const c = cond({ signal: 'loudness', below: -40 });
    expect(trace(c, [{ loudness: Number.NaN }])).toEqual([false]);
  });

  it('describes itself for alerts and logs', () => {
    expect(describeCondition(cond({ all: [{ signal: 'negativity', above: 0.8, clearBelow: 0.7 }, { any: [{ signal: 'FEA', above: 0.4, clearBelow: 0.4 }, { signal: 'loudness', below: -30 }] }] }))).toBe(
      'negativity >= 0.8 (clears < 0.7) and (FEA >= 0.4 or loudness <= -30 (clears > -27))',
    );
  });
});

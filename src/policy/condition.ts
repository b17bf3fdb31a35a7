import type { EmotionUpdate } from '../emotion/tracker.js';
import { DERIVED_SIGNALS, type Condition, type Leaf, type Signal } from './rules-schema.js';

/**
 * Pure evaluation of a rule's condition over one update, with hysteresis per threshold: a leaf
 * that holds keeps holding until its value crosses the clear level (`clearBelow` / `clearAbove`),
 * so scores wobbling around a threshold do not make a rule fire and clear every second.
 *
 * The per-leaf state is a flat array in depth-first leaf order (see `leafCount`).
 */
export type LeafState = readonly boolean[];

export function leafCount(cond: Condition): number {
  if ('all' in cond) return cond.all.reduce((n, c) => n + leafCount(c), 0);
  if ('any' in cond) return cond.any.reduce((n, c) => n + leafCount(c), 0);
  return 1;
}

export function initialState(cond: Condition): boolean[] {
  return new Array<boolean>(leafCount(cond)).fill(false);
}

export function signalValue(signal: Signal, update: EmotionUpdate): number {
  if (signal.kind === 'field') return update[signal.field];
  if (signal.kind === 'derived') return DERIVED_SIGNALS[signal.name](update);
  let s = 0;
  for (const l of signal.labels) s += update.probs[l] ?? Number.NaN;
  return s;
}

/** Whether one threshold holds, given whether it held on the previous update. NaN never holds. */
export function leafHolds(leaf: Leaf, value: number, held: boolean): boolean {
  if (Number.isNaN(value)) return false;
  if (leaf.op === 'above') return held ? value >= leaf.exit : value >= leaf.enter;
  return held ? value <= leaf.exit : value <= leaf.enter;
}

export interface Evaluation {
  holds: boolean;
  state: boolean[];
}

export function evaluate(cond: Condition, update: EmotionUpdate, prev: LeafState): Evaluation {
  const state = prev.slice();
  let i = 0;
  const walk = (c: Condition): boolean => {
    if ('all' in c) {
      let ok = true;
      for (const sub of c.all) ok = walk(sub) && ok; // every leaf is visited so its state stays current
      return ok;
    }
    if ('any' in c) {
      let ok = false;
      for (const sub of c.any) ok = walk(sub) || ok;
      return ok;
    }
    const idx = i++;
    state[idx] = leafHolds(c, signalValue(c.signal, update), prev[idx] ?? false);
    return state[idx]!;
  };
  return { holds: walk(cond), state };
}

/** The values of every signal a condition reads, keyed by signal name: for audit lines. */
export function signalsOf(cond: Condition, update: EmotionUpdate, out: Record<string, number> = {}): Record<string, number> {
  if ('all' in cond) for (const c of cond.all) signalsOf(c, update, out);
  else if ('any' in cond) for (const c of cond.any) signalsOf(c, update, out);
  else out[cond.signal.name] = signalValue(cond.signal, update);
  return out;
}

/** Human-readable form, e.g. "negativity >= 0.8 (clears < 0.7) and ANG+DIS >= 0.7". */
export function describe(cond: Condition): string {
  if ('all' in cond) return cond.all.map((c) => ('any' in c ? `(${describe(c)})` : describe(c))).join(' and ');
  if ('any' in cond) return cond.any.map((c) => ('all' in c ? `(${describe(c)})` : describe(c))).join(' or ');
  const [enter, exit] = cond.op === 'above' ? ['>=', '<'] : ['<=', '>'];
  const band = cond.exit !== cond.enter ? ` (clears ${exit} ${tidy(cond.exit)})` : '';
  return `${cond.signal.name} ${enter} ${tidy(cond.enter)}${band}`;
}

/** 0.6 - 0.05 is 0.5499999999999999 in floating point; people read 0.55. */
function tidy(x: number): number {
  return Number(x.toPrecision(10));
}

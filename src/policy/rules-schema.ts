import { z } from 'zod';
import { EMOTION_LABELS } from '../inference/model-card.js';
import type { CallPhase } from '../events/types.js';
import { ACTION_KINDS, actionSpecSchema, flatPath, fromFlatParams, WRAPPED, type ActionKind, type ActionSpec } from './action-schema.js';

/**
 * The rules file: global safety settings and a list of declarative rules. Parsed once at start-up
 * (load-rules.ts); the engine only ever sees the validated, defaulted form below. docs/rules.md is
 * the reference for every key.
 */

/** Signals a condition can read from an EmotionUpdate; labels and `A+B` sums of labels come on top. */
export const FIELD_SIGNALS = {
  negativity: 'negativity',
  arousal: 'arousal',
  confidence: 'confidence',
  loudness: 'loudnessDbfs',
  speechRatio: 'speechRatio',
  adjustedNegativity: 'adjustedNegativity',
  baselineNegativity: 'baselineNegativity',
  familiarity: 'familiarity',
} as const;
export type FieldSignal = keyof typeof FIELD_SIGNALS;

/**
 * Signals computed from an update. `negativityRise`: how far the caller's negativity now is above
 * their own mean so far in the call (-1..1; NaN before their first speech window), for "0.3 above
 * this caller's baseline" whatever that baseline is.
 */
export const DERIVED_SIGNALS = {
  negativityRise: (u: { negativity: number; baselineNegativity: number }): number => u.negativity - u.baselineNegativity,
} as const;
export type DerivedSignal = keyof typeof DERIVED_SIGNALS;

export type Signal =
  | { kind: 'field'; name: FieldSignal; field: (typeof FIELD_SIGNALS)[FieldSignal] }
  | { kind: 'derived'; name: DerivedSignal }
  | { kind: 'labels'; name: string; labels: string[] };

/** One threshold with its hysteresis band: enters at `enter`, leaves only past `exit`. */
export interface Leaf {
  signal: Signal;
  op: 'above' | 'below';
  enter: number;
  exit: number;
}
export type Condition = Leaf | { all: Condition[] } | { any: Condition[] };

export interface RuleScope {
  /** null: every phase. Hang-up rules must name theirs. */
  phases: CallPhase[] | null;
  queues: string[] | null;
  contexts: string[] | null;
}

export interface Rule {
  name: string;
  description: string | null;
  shadow: boolean;
  scope: RuleScope;
  when: Condition;
  /** Seconds of speech the condition must hold before the rule fires. */
  forSeconds: number;
  cooldownSeconds: number;
  minCallAgeSeconds: number;
  maxPerCall: number;
  /** Shown on the console's alert when the rule's condition is sustained. */
  alert: string;
  actions: ActionSpec[];
}

export interface HangupSafety {
  maxPerMinute: number;
  minSustainSeconds: number;
  minCallAgeSeconds: number;
  minClassifiedWindows: number;
  requireWarning: boolean;
  minGraceSeconds: number;
  minSpeechAfterWarningSeconds: number;
}

export interface Safety {
  maxActionsPerCall: number;
  minCallAgeSeconds: number;
  cooldownSeconds: number;
  maxGapSeconds: number;
  silence: 'hold' | 'break';
  hysteresis: { probability: number; loudnessDb: number };
  evidencePoints: number;
  hangup: HangupSafety;
}

export interface RuleSet {
  dryRun: boolean;
  safety: Safety;
  rules: Rule[];
}

export interface RulesSchemaOptions {
  /** The labels of the loaded model card; conditions naming another label are refused. */
  labels?: readonly string[];
}

const PHASES = ['ivr', 'queued', 'agent'] as const satisfies readonly CallPhase[];

/** `10`, `10s`, `1.5s`, `500ms`, `2m` -> seconds. */
export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') {
    if (v >= 0 && Number.isFinite(v)) return v;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(v);
    if (m) return Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1);
  }
  ctx.addIssue({ code: 'custom', message: `expected a duration like 10s, 500ms or 2m, got ${JSON.stringify(v)}` });
  return z.NEVER;
});

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, _ . - (up to 64)');

const hangupSafety = z
  .object({
    maxPerMinute: z.int().min(1).max(600).default(2).describe('global token bucket across all calls'),
    minSustainSeconds: z.number().min(0).default(10),
    minCallAgeSeconds: z.number().min(0).default(60),
    minClassifiedWindows: z.int().min(1).default(30),
    requireWarning: z.boolean().default(true),
    minGraceSeconds: z.number().min(0).default(5),
    minSpeechAfterWarningSeconds: z.number().min(0).default(3),
  })
  .strict()
  .prefault({});

const safety = z
  .object({
    maxActionsPerCall: z.int().min(1).default(3),
    minCallAgeSeconds: z.number().min(0).default(10),
    cooldownSeconds: z.number().min(0).default(120),
    maxGapSeconds: z.number().positive().default(3),
    silence: z.enum(['hold', 'break']).default('hold'),
    hysteresis: z
      .object({ probability: z.number().min(0).max(0.5).default(0.05), loudnessDb: z.number().min(0).max(30).default(3) })
      .strict()
      .prefault({}),
    evidencePoints: z.int().min(1).max(600).default(60),
    hangup: hangupSafety,
  })
  .strict()
  .prefault({});

const leafShape = z
  .object({
    signal: z.string(),
    above: z.number().optional(),
    below: z.number().optional(),
    clearBelow: z.number().optional(),
    clearAbove: z.number().optional(),
  })
  .strict();

const ruleShape = z
  .object({
    name,
    description: z.string().optional(),
    shadow: z.boolean().default(false),
    scope: z
      .object({
        phases: z.array(z.enum(PHASES)).min(1).optional(),
        queues: z.array(z.string().min(1)).min(1).optional(),
        contexts: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict()
      .prefault({}),
    when: z.record(z.string(), z.unknown()),
    cooldown: duration.optional(),
    minCallAge: duration.optional(),
    maxPerCall: z.int().min(1).default(1),
    alert: z.string().optional(),
    actions: z.array(z.unknown()).min(1).max(8),
  })
  .strict();

/** Builds the schema; `labels` restricts which emotion labels conditions may name. */
export function rulesSchema(opts: RulesSchemaOptions = {}) {
  const labels = new Set(opts.labels ?? EMOTION_LABELS);
  return z
    .object({
      dryRun: z.boolean().default(false),
      safety,
      rules: z.array(z.unknown()).default([]),
    })
    .strict()
    .transform((doc, ctx): RuleSet => {
      const rules: Rule[] = [];
      const seen = new Set<string>();
      doc.rules.forEach((raw, i) => {
        const rule = parseRule(raw, ['rules', i], doc.safety, labels, ctx);
        if (!rule) return;
        if (seen.has(rule.name)) issue(ctx, ['rules', i, 'name'], `duplicate rule name "${rule.name}"`);
        seen.add(rule.name);
        rules.push(rule);
      });
      return { dryRun: doc.dryRun, safety: doc.safety, rules };
    });
}

type Ctx = z.RefinementCtx;
type Path = (string | number)[];

function issue(ctx: Ctx, path: Path, message: string): void {
  ctx.addIssue({ code: 'custom', message, path });
}

/** Runs a sub-schema and re-reports its issues under `path`, so messages name the exact key. */
function sub<T extends z.ZodType>(schema: T, value: unknown, path: Path, ctx: Ctx): z.output<T> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const i of r.error.issues) issue(ctx, [...path, ...(i.path as Path)], i.message);
  return undefined;
}

function parseRule(raw: unknown, path: Path, safe: Safety, labels: Set<string>, ctx: Ctx): Rule | undefined {
  const r = sub(ruleShape, raw, path, ctx);
  if (!r) return undefined;
  const { for: forRaw, ...cond } = r.when;
  const forSeconds = forRaw === undefined ? undefined : sub(duration, forRaw, [...path, 'when', 'for'], ctx);
  if (forRaw === undefined) issue(ctx, [...path, 'when', 'for'], 'required: how long the condition must hold, e.g. 5s');
  const when = parseCondition(cond, [...path, 'when'], safe, labels, ctx);
  const actions: ActionSpec[] = [];
  r.actions.forEach((a, j) => {
    const spec = parseAction(a, [...path, 'actions', j], ctx);
    if (spec) actions.push(spec);
  });
  if (actions.length !== r.actions.length || when === undefined || forSeconds === undefined) return undefined;

  const hangup = actions.find((a): a is Extract<ActionSpec, { kind: 'hangup' }> => a.kind === 'hangup');
  if (hangup) {
    if (actions.length > 1) issue(ctx, [...path, 'actions'], 'a hangup must be the rule\'s only action');
    if (forSeconds < safe.hangup.minSustainSeconds) {
      issue(ctx, [...path, 'when', 'for'], `a rule that hangs up must require at least ${safe.hangup.minSustainSeconds}s (safety.hangup.minSustainSeconds)`);
    }
    if (!r.scope.phases) issue(ctx, [...path, 'scope', 'phases'], 'required for a rule that hangs up: name the phases (e.g. [agent])');
    if (!hangup.warn && safe.hangup.requireWarning) {
      issue(ctx, [...path, 'actions', 0, 'hangup', 'warn'], 'required: play a warning before hanging up (safety.hangup.requireWarning)');
    }
    if (hangup.warn && hangup.warn.graceSeconds < safe.hangup.minGraceSeconds) {
      issue(ctx, [...path, 'actions', 0, 'hangup', 'warn', 'graceSeconds'], `at least ${safe.hangup.minGraceSeconds}s (safety.hangup.minGraceSeconds)`);
    }
  }
  const minCallAge = r.minCallAge ?? safe.minCallAgeSeconds;
  return {
    name: r.name,
    description: r.description ?? null,
    shadow: r.shadow,
    scope: { phases: r.scope.phases ?? null, queues: r.scope.queues ?? null, contexts: r.scope.contexts ?? null },
    when,
    forSeconds,
    cooldownSeconds: r.cooldown ?? safe.cooldownSeconds,
    minCallAgeSeconds: hangup ? Math.max(minCallAge, safe.hangup.minCallAgeSeconds) : minCallAge,
    maxPerCall: r.maxPerCall,
    alert: r.alert ?? r.description ?? `rule ${r.name}`,
    actions,
  };
}

function parseCondition(raw: unknown, path: Path, safe: Safety, labels: Set<string>, ctx: Ctx): Condition | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issue(ctx, path, 'expected a condition: { signal, above|below } or { all: [...] } or { any: [...] }');
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  for (const key of ['all', 'any'] as const) {
    if (!(key in obj)) continue;
    if (Object.keys(obj).length !== 1) {
      issue(ctx, path, `"${key}" cannot be combined with other keys (${Object.keys(obj).join(', ')}); nest them inside it`);
      return undefined;
    }
    const list = obj[key];
    if (!Array.isArray(list) || list.length === 0) {
      issue(ctx, [...path, key], 'expected a non-empty list of conditions');
      return undefined;
    }
    const parts = list.map((c, i) => parseCondition(c, [...path, key, i], safe, labels, ctx));
    if (parts.some((p) => p === undefined)) return undefined;
    return key === 'all' ? { all: parts as Condition[] } : { any: parts as Condition[] };
  }
  const leaf = sub(leafShape, obj, path, ctx);
  if (!leaf) return undefined;
  const signal = parseSignal(leaf.signal, labels);
  if (!signal) {
    issue(ctx, [...path, 'signal'], `unknown signal "${leaf.signal}": expected one of ${[...labels].join(', ')}, a sum like ANG+DIS, or ${[...Object.keys(FIELD_SIGNALS), ...Object.keys(DERIVED_SIGNALS)].join(', ')}`);
    return undefined;
  }
  const isDb = signal.kind === 'field' && signal.name === 'loudness';
  const isRise = signal.kind === 'derived';
  const [lo, hi] = isDb ? [-150, 0] : isRise ? [-1, 1] : [0, 1];
  const margin = isDb ? safe.hysteresis.loudnessDb : safe.hysteresis.probability;
  const inRange = (key: string, v: number | undefined): boolean => {
    if (v === undefined || (v >= lo && v <= hi)) return true;
    issue(ctx, [...path, key], `${signal.name} is ${isDb ? 'in dBFS' : isRise ? 'a difference of probabilities' : 'a probability'}: expected ${lo}..${hi}, got ${v}`);
    return false;
  };
  if (![['above', leaf.above], ['below', leaf.below], ['clearBelow', leaf.clearBelow], ['clearAbove', leaf.clearAbove]].every(([k, v]) => inRange(k as string, v as number | undefined))) {
    return undefined;
  }
  if ((leaf.above === undefined) === (leaf.below === undefined)) {
    issue(ctx, path, 'expected exactly one of above or below');
    return undefined;
  }
  if (leaf.above !== undefined) {
    if (leaf.clearAbove !== undefined) issue(ctx, [...path, 'clearAbove'], 'goes with below; with above use clearBelow');
    const exit = leaf.clearBelow ?? Math.max(lo, leaf.above - margin);
    if (exit > leaf.above) issue(ctx, [...path, 'clearBelow'], `must be <= above (${leaf.above}), got ${exit}`);
    return { signal, op: 'above', enter: leaf.above, exit };
  }
  const below = leaf.below!;
  if (leaf.clearBelow !== undefined) issue(ctx, [...path, 'clearBelow'], 'goes with above; with below use clearAbove');
  const exit = leaf.clearAbove ?? Math.min(hi, below + margin);
  if (exit < below) issue(ctx, [...path, 'clearAbove'], `must be >= below (${below}), got ${exit}`);
  return { signal, op: 'below', enter: below, exit };
}

function parseSignal(raw: string, labels: Set<string>): Signal | undefined {
  if (raw in DERIVED_SIGNALS) return { kind: 'derived', name: raw as DerivedSignal };
  if (raw in FIELD_SIGNALS) {
    const n = raw as FieldSignal;
    return { kind: 'field', name: n, field: FIELD_SIGNALS[n] };
  }
  const parts = raw.split('+').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !labels.has(p)) || new Set(parts).size !== parts.length) return undefined;
  return { kind: 'labels', name: parts.join('+'), labels: parts };
}

/**
 * One action of a rule: the rules file writes `{ priority: { add: 5 } }`, `{ setVars: { A: 1 } }`,
 * `{ play: sound:x }`; this turns it into the canonical `{ kind, ... }` and validates it with the
 * schema the API uses too (action-schema.ts). What only the rules file allows: `play: sound:x` for
 * `play: { media: sound:x }`, a hang-up's cause defaults to normal, `graceSeconds` may be a duration
 * (`15s`), and numbers and booleans are variable values (as strings).
 */
function parseAction(raw: unknown, path: Path, ctx: Ctx): ActionSpec | undefined {
  const keys = isMapping(raw) ? Object.keys(raw) : [];
  if (keys.length !== 1 || !(ACTION_KINDS as string[]).includes(keys[0]!)) {
    issue(ctx, path, `expected one action, a mapping with a single key: ${ACTION_KINDS.join(', ')}`);
    return undefined;
  }
  const kind = keys[0] as ActionKind;
  const p = [...path, kind];
  let value = (raw as Record<string, unknown>)[kind];
  if (!WRAPPED[kind] && isMapping(value) && 'kind' in value) {
    issue(ctx, p, 'Unrecognized key: "kind" (the action\'s key names its kind)');
    return undefined;
  }
  if (kind === 'play' && typeof value === 'string') value = { media: value };
  if (kind === 'hangup' && (value === null || value === undefined)) value = {};
  if (kind === 'hangup' && isMapping(value)) {
    const warn = value.warn;
    if (isMapping(warn) && typeof warn.graceSeconds === 'string') {
      const seconds = sub(duration, warn.graceSeconds, [...p, 'warn', 'graceSeconds'], ctx);
      if (seconds === undefined) return undefined;
      value = { ...value, warn: { ...warn, graceSeconds: seconds } };
    }
    value = { cause: 'normal', ...(value as Record<string, unknown>) };
  }
  if (kind === 'setVars' && isMapping(value)) {
    value = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? String(v) : v]));
  }
  const r = actionSpecSchema.safeParse(fromFlatParams(kind, value));
  if (r.success) return r.data;
  for (const i of r.error.issues) issue(ctx, [...p, ...(flatPath(kind, i.path) as Path)], i.message);
  return undefined;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

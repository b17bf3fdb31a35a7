import { z } from 'zod';
import type { HangupCause, TransferTarget } from '../pbx/types.js';

/**
 * The one validator of an action (issue 15): what a rule (rules-schema.ts, after turning the rules
 * file's `{ priority: {...} }` form into this one) and a supervisor (POST /api/calls/:id/actions,
 * console/api.ts) may ask the PBX to do. ActionSpec is its output type. docs/events.schema.json
 * `actionSpec` (which the OpenAPI description of the forced action reuses) and `action.kind` are
 * checked against it by test/policy/action-schema.test.ts.
 *
 * Adding an action kind: one entry in ACTION_SCHEMAS (and in WRAPPED if the rules file writes its one
 * field's value directly, as `setVars: { NAME: value }`), then describeAction and perform in
 * actions.ts (the compiler asks for both), the events schema (the test asks) and the docs.
 */

/** Named hang-up causes ARI accepts as `reason` (mapped to Q.850 by Asterisk); src/pbx/types.ts HangupCause. */
export const HANGUP_CAUSES = ['normal', 'busy', 'congestion', 'no_answer', 'rejected', 'answered_elsewhere'] as const satisfies readonly HangupCause[];
// The other direction: every HangupCause is listed (tsc fails on a cause missing here).
const everyCause: Exclude<HangupCause, (typeof HANGUP_CAUSES)[number]> extends never ? true : never = true;
void everyCause;

/** A queue, dialplan context or extension, or agent endpoint (the targets allowlist judges the value). */
const targetName = z.string().min(1).max(128);
/** What the PBX plays: an ARI media URI without whitespace (a media name also ends up in a FreeSWITCH command line). */
const media = z
  .string()
  .max(128)
  .regex(/^(sound|recording|tone|digits|number):\S+$/, 'an ARI media URI like sound:ser-warning (no spaces)');
const varName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);

export const transferTargetSchema = z.union(
  [
    z.strictObject({ queue: targetName }),
    z.strictObject({ context: targetName, extension: targetName, priority: z.int().min(1).optional() }),
    z.strictObject({ agent: targetName }),
  ],
  { error: 'one of { queue }, { context, extension, priority? } or { agent }' },
);

/** Every action kind, in its canonical form `{ kind, ...fields }`. */
export const ACTION_SCHEMAS = {
  priority: z
    .strictObject({ kind: z.literal('priority'), set: z.int().min(0).max(1000).optional(), add: z.int().min(-1000).max(1000).optional() })
    .refine((a) => (a.set === undefined) !== (a.add === undefined), { message: 'exactly one of add or set', path: ['set'] })
    // (`properties` repeated so that a strict JSON Schema validator, as ajv's strictRequired, accepts it)
    .meta({ oneOf: [{ required: ['set'], properties: { set: true } }, { required: ['add'], properties: { add: true } }] }),
  setVars: z.strictObject({
    kind: z.literal('setVars'),
    vars: z
      .record(varName, z.string().max(1024), { error: (i) => (i.code === 'invalid_key' ? 'a channel variable name (letters, digits, _)' : undefined) })
      .refine((v) => Object.keys(v).length > 0, 'at least one variable')
      .meta({ minProperties: 1 }),
  }),
  transfer: z.strictObject({ kind: z.literal('transfer'), target: transferTargetSchema }),
  play: z.strictObject({ kind: z.literal('play'), media }),
  hangup: z.strictObject({
    kind: z.literal('hangup'),
    cause: z.enum(HANGUP_CAUSES),
    warn: z.strictObject({ media, graceSeconds: z.number().min(0).max(600) }).optional(),
  }),
} as const;

export type ActionKind = keyof typeof ACTION_SCHEMAS;
export const ACTION_KINDS = Object.keys(ACTION_SCHEMAS) as ActionKind[];

/** Any action: `kind` picks the schema. */
export const actionSpecSchema = z.discriminatedUnion('kind', Object.values(ACTION_SCHEMAS) as unknown as [(typeof ACTION_SCHEMAS)[ActionKind], ...(typeof ACTION_SCHEMAS)[ActionKind][]]);

/** What a rule (or a supervisor forcing an action) asks the PBX to do. */
export type ActionSpec = { [K in ActionKind]: z.output<(typeof ACTION_SCHEMAS)[K]> }[ActionKind];

// The PBX port's target type and ours stay the same (tsc fails otherwise).
const sameTarget: [z.output<typeof transferTargetSchema>, TransferTarget] extends [TransferTarget, z.output<typeof transferTargetSchema>] ? true : never = true;
void sameTarget;

/**
 * Kinds whose rules-file form (and action-event params) is the value of their one field:
 * `setVars: { A: "1" }` is `{ kind: 'setVars', vars: { A: "1" } }`. Any other kind's fields are written as
 * they are: `priority: { add: 5 }` is `{ kind: 'priority', add: 5 }`.
 */
export const WRAPPED: Partial<Record<ActionKind, string>> = { setVars: 'vars', transfer: 'target' };

/** The flat form of an action, without its kind: the rules file's value and the action event's `params`. */
export function flatParams(spec: ActionSpec): Record<string, unknown> {
  const { kind, ...fields } = spec as { kind: ActionKind } & Record<string, unknown>;
  const wrapped = WRAPPED[kind];
  return structuredClone(wrapped ? (fields[wrapped] as Record<string, unknown>) : fields);
}

/** The canonical input for a kind from its flat form (not yet validated). */
export function fromFlatParams(kind: ActionKind, value: unknown): unknown {
  const wrapped = WRAPPED[kind];
  if (wrapped) return { kind, [wrapped]: value };
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value, kind } : value;
}

/** The path of an issue in the canonical form, as it is in the flat form (`vars.A` -> `A`). */
export function flatPath(kind: ActionKind, path: readonly PropertyKey[]): PropertyKey[] {
  const wrapped = WRAPPED[kind];
  return wrapped && path[0] === wrapped ? path.slice(1) : [...path];
}

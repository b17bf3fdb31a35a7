import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiText } from '../../src/console/openapi.js';
import { ACTION_KINDS, ACTION_SCHEMAS, HANGUP_CAUSES, actionSpecSchema, flatParams, fromFlatParams, type ActionKind, type ActionSpec } from '../../src/policy/action-schema.js';
import { REPO } from '../helpers/paths.js';

type Json = Record<string, unknown>;

const EVENTS = JSON.parse(readFileSync(`${REPO}/docs/events.schema.json`, 'utf8')) as { $defs: Record<string, Json> };

/** A JSON Schema without its prose: `description` and `$schema` say nothing about what is valid. */
function rules(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rules);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => k !== 'description' && k !== '$schema')
      .map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, rules(s)])) : rules(v)]),
  );
}

/** What the one validator accepts, as JSON Schema. */
const generated = rules(z.toJSONSchema(actionSpecSchema, { io: 'input' })) as { oneOf: Json[] };

/** One valid action of every kind (the table fails to compile when a kind is missing). */
const SAMPLES: { [K in ActionKind]: Extract<ActionSpec, { kind: K }> } = {
  priority: { kind: 'priority', add: 5 },
  setVars: { kind: 'setVars', vars: { SER_ESCALATE: 'distress' } },
  transfer: { kind: 'transfer', target: { context: 'ser-escalate', extension: 'agent', priority: 1 } },
  play: { kind: 'play', media: 'sound:ser-please-hold' },
  hangup: { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 10 } },
};

describe('issue 15: one action validator (src/policy/action-schema.ts)', () => {
  it('docs/events.schema.json actionSpec is what the validator accepts: every kind, field, bound and pattern', () => {
    expect(rules(EVENTS.$defs.actionSpec)).toEqual(generated);
  });

  it('the action event kinds in docs/events.schema.json are the validator\'s kinds', () => {
    const action = EVENTS.$defs.action as { properties: { kind: { enum: string[] } } };
    expect(action.properties.kind.enum).toEqual(ACTION_KINDS);
  });

  it('the OpenAPI body of a forced action is the validator\'s action plus the optional `by`', () => {
    const doc = JSON.parse(openApiText()) as { components: { schemas: Record<string, { oneOf: Array<{ properties: Json; required: string[] }> }> } };
    const force = doc.components.schemas.ForceRequest!.oneOf;
    for (const variant of force) {
      expect(variant.properties.by).toEqual({ $ref: '#/components/schemas/By' });
      expect(variant.required).not.toContain('by');
    }
    const withoutBy = force.map(({ properties: { by: _, ...properties }, ...rest }) => ({ ...rest, properties }));
    expect(rules({ oneOf: withoutBy })).toEqual(generated);
  });

  it('a valid action of every kind is accepted as is, and its event params turn back into it', () => {
    for (const kind of ACTION_KINDS) {
      const sample = SAMPLES[kind];
      expect(actionSpecSchema.parse(sample), kind).toEqual(sample);
      expect(ACTION_SCHEMAS[kind].parse(sample), kind).toEqual(sample);
      expect(actionSpecSchema.parse(fromFlatParams(kind, flatParams(sample))), kind).toEqual(sample);
    }
    expect(flatParams(SAMPLES.setVars)).toEqual({ SER_ESCALATE: 'distress' });
    expect(flatParams(SAMPLES.transfer)).toEqual({ context: 'ser-escalate', extension: 'agent', priority: 1 });
    expect(flatParams(SAMPLES.priority)).toEqual({ add: 5 });
  });

  it('the docs name every action kind and every hang-up cause', () => {
    const rulesDoc = readFileSync(`${REPO}/docs/rules.md`, 'utf8');
    const consoleDoc = readFileSync(`${REPO}/docs/console.md`, 'utf8');
    const eventsDoc = readFileSync(`${REPO}/docs/events.md`, 'utf8');
    for (const kind of ACTION_KINDS) {
      expect(rulesDoc, `docs/rules.md: ${kind}`).toContain(`| \`${kind}\` |`);
      expect(consoleDoc, `docs/console.md: ${kind}`).toContain(`{"kind":"${kind}"`);
      expect(eventsDoc, `docs/events.md: ${kind}`).toContain(`\`${kind}\``);
    }
    for (const cause of HANGUP_CAUSES) {
      expect(rulesDoc, `docs/rules.md: ${cause}`).toContain(`\`${cause}\``);
      expect(consoleDoc, `docs/console.md: ${cause}`).toContain(cause);
    }
  });
});

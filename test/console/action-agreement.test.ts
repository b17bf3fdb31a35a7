import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRules } from '../../src/policy/load-rules.js';
import type { ActionControl } from '../../src/policy/control.js';
import { addCall, world, type World } from './support.js';

/**
 * Issue 15: a supervisor's forced action (POST /api/calls/:id/actions) and a rule's action (the rules
 * file) are the same ActionSpec and must be judged by the same rules: what one refuses the other
 * refuses. Each case is written in the API's canonical form and turned into the rules file's form.
 * (The rules file's own conveniences, `play: sound:x`, a default cause, durations like `15s`, numbers
 * as variable values, are tested in test/policy/load-rules.test.ts.)
 */
const CASES: Array<[string, Record<string, unknown>]> = [
  ['priority add', { kind: 'priority', add: 5 }],
  ['priority add below -1000', { kind: 'priority', add: -1001 }],
  ['priority set', { kind: 'priority', set: 10 }],
  ['priority set 0', { kind: 'priority', set: 0 }],
  ['priority set negative', { kind: 'priority', set: -5 }],
  ['priority set above 1000', { kind: 'priority', set: 1001 }],
  ['priority with both', { kind: 'priority', set: 1, add: 1 }],
  ['priority with neither', { kind: 'priority' }],
  ['setVars', { kind: 'setVars', vars: { SER_ESCALATE: 'distress' } }],
  ['setVars without a variable', { kind: 'setVars', vars: {} }],
  ['setVars with a bad name', { kind: 'setVars', vars: { 'SER-X': '1' } }],
  ['setVars with a long value', { kind: 'setVars', vars: { SER_NOTE: 'x'.repeat(2000) } }],
  ['transfer to a queue', { kind: 'transfer', target: { queue: 'vip' } }],
  ['transfer to an empty queue name', { kind: 'transfer', target: { queue: '' } }],
  ['transfer to a 200-character context', { kind: 'transfer', target: { context: 'c'.repeat(200), extension: 'e' } }],
  ['transfer with a bad priority', { kind: 'transfer', target: { context: 'c', extension: 'e', priority: 0 } }],
  ['play a sound', { kind: 'play', media: 'sound:ser-warning' }],
  ['play without a media scheme', { kind: 'play', media: 'ser-warning' }],
  ['play with a space', { kind: 'play', media: 'sound:ser warning' }],
  ['play with a newline', { kind: 'play', media: 'sound:a\nb' }],
  ['play a very long name', { kind: 'play', media: `sound:${'x'.repeat(300)}` }],
  ['play with another key', { kind: 'play', media: 'sound:x', volume: 3 }],
  ['hangup', { kind: 'hangup', cause: 'busy' }],
  ['hangup with an unknown cause', { kind: 'hangup', cause: 'sometimes' }],
  ['hangup with a warning', { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 10 } }],
  ['hangup warning without a media scheme', { kind: 'hangup', cause: 'normal', warn: { media: 'ser-warning', graceSeconds: 10 } }],
  ['hangup with a negative grace', { kind: 'hangup', cause: 'normal', warn: { media: 'sound:w', graceSeconds: -1 } }],
  ['hangup with an hour of grace', { kind: 'hangup', cause: 'normal', warn: { media: 'sound:w', graceSeconds: 3600 } }],
];

/** The rules file's form of a canonical action: `{ kind: 'play', media }` -> `{ play: { media } }`. */
function yamlForm(action: Record<string, unknown>): Record<string, unknown> {
  const { kind, ...rest } = action;
  if (kind === 'setVars') return { setVars: rest.vars };
  if (kind === 'transfer') return { transfer: rest.target };
  return { [kind as string]: rest };
}

/** Whether a rules file with this one action loads (the hang-up safety rules are relaxed: only the action is judged). */
function rulesAccept(action: Record<string, unknown>): boolean {
  const doc = {
    safety: { hangup: { requireWarning: false, minGraceSeconds: 0 } },
    rules: [{ name: 'r', scope: { phases: ['agent'] }, when: { signal: 'negativity', above: 0.8, for: '10s' }, actions: [yamlForm(action)] }],
  };
  try {
    parseRules(doc);
    return true;
  } catch {
    return false;
  }
}

describe('issue 15: the API and the rules file accept the same actions', () => {
  let w: World;
  const actions: ActionControl = { pending: () => [], cancel: () => false, force: async () => ({ ok: true }) };
  beforeAll(async () => {
    w = await world({ actions });
    addCall(w.registry, 'c1');
  });
  afterAll(async () => {
    await w?.server.close();
  });

  it('every case gets the same verdict from POST /api/calls/:id/actions and from a rules file', async () => {
    const disagreements: string[] = [];
    for (const [name, action] of CASES) {
      const res = await fetch(`${w.server.url}/api/calls/c1/actions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(action) });
      expect([200, 400], name).toContain(res.status);
      const api = res.status === 200;
      const rules = rulesAccept(action);
      if (api !== rules) disagreements.push(`${name}: the API ${api ? 'accepts' : 'refuses'}, a rules file ${rules ? 'accepts' : 'refuses'}`);
    }
    expect(disagreements).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { loadRules } from '../../src/policy/load-rules.js';
import { REPO } from '../helpers/paths.js';
import { CALM, FAMILIARITY, repeat, world, type Scores, type World } from './world.js';

const FILE = `${REPO}config/rules.example.yaml`;
const doc = () => parse(readFileSync(FILE, 'utf8')) as { rules: { name: string; shadow?: boolean }[] };

/** The example with every rule live: what a site gets once it turns shadow mode off. */
function live() {
  const d = doc();
  for (const r of d.rules) r.shadow = false;
  return d;
}

const ABUSIVE: Scores = { ANG: 0.7, DIS: 0.2, FEA: 0.03 };
const DISTRESSED: Scores = { FEA: 0.45, SAD: 0.45 };

let w: World;
beforeEach(() => vi.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') }));
afterEach(() => {
  w?.engine.close();
  vi.useRealTimers();
  FAMILIARITY.value = 0.5;
});

describe('config/rules.example.yaml', () => {
  it('loads, and ships the transfer and the hang-up in shadow mode', () => {
    const set = loadRules(FILE);
    expect(set.rules.map((r) => [r.name, r.shadow])).toEqual([
      ['ivr-distress-to-agent', true],
      ['queued-distress-priority', false],
      ['caller-turning-tense', false],
      ['agent-abuse-flag', false],
      ['agent-abuse-warn-hangup', true],
    ]);
    const hangup = set.rules[4]!;
    expect(hangup.scope.phases).toEqual(['agent']);
    expect(hangup.minCallAgeSeconds).toBe(60);
  });

  it('case 1: a distressed caller in the IVR would be transferred (shadow), one in the queue moves up', async () => {
    w = world(doc());
    w.addCall('menu', 'ivr');
    w.addCall('waiting', 'queued', { queue: 'support' });
    await w.play('menu', [...repeat(10, CALM), ...repeat(6, DISTRESSED)]);
    await w.play('waiting', [...repeat(10, CALM), ...repeat(8, DISTRESSED)]);
    expect(w.actions('shadow').map((e) => [e.callId, e.kind])).toEqual([
      ['menu', 'setVars'],
      ['menu', 'transfer'],
    ]);
    expect(w.control.calls.map((c) => [c.op, c.callId, c.arg])).toEqual([['setPriority', 'waiting', { add: 5 }]]);
  });

  it('case 1b: an abusive caller waiting in the queue is not moved up, in the example and in the demo rules', async () => {
    for (const file of [FILE, `${REPO}config/rules.demo.yaml`]) {
      w?.engine.close();
      w = world(parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
      w.addCall('angry', 'queued', { queue: 'support' });
      w.addCall('sad', 'queued', { queue: 'support' });
      await w.play('angry', [...repeat(10, CALM), ...repeat(30, ABUSIVE)]);
      await w.play('sad', [...repeat(10, CALM), ...repeat(8, DISTRESSED)]);
      expect(w.control.calls.filter((c) => c.op === 'setPriority').map((c) => c.callId)).toEqual(['sad']);
    }
  });

  it('case 2: as shipped, sustained abuse flags the call and only logs the hang-up it would have made', async () => {
    w = world(doc());
    w.addCall('c1', 'agent');
    await w.play('c1', [...repeat(40, CALM), ...repeat(40, ABUSIVE)]);
    await w.wait(30_000);
    expect(w.control.calls.map((c) => [c.op, c.arg])).toEqual([['setVariables', { SER_ESCALATE: 'abuse' }]]);
    expect(w.actions('shadow').map((e) => [e.rule, e.kind])).toEqual([['agent-abuse-warn-hangup', 'hangup']]);
  });

  it('case 2 live: warns, then hangs up 15 s later while the abuse goes on', async () => {
    w = world(live());
    w.addCall('c1', 'agent');
    await w.play('c1', [...repeat(40, CALM), ...repeat(20, ABUSIVE)]);
    expect(w.control.ops()).toEqual(['setVariables:c1', 'play:c1']);
    await w.play('c1', repeat(15, ABUSIVE));
    expect(w.control.ops()).toEqual(['setVariables:c1', 'play:c1', 'hangup:c1']);
    expect(w.control.calls[2]!.at - w.control.calls[1]!.at).toBe(15_000);
  });

  it('case 2 live: a caller who calms down after the warning is not disconnected', async () => {
    w = world(live());
    w.addCall('c1', 'agent');
    await w.play('c1', [...repeat(40, CALM), ...repeat(20, ABUSIVE), ...repeat(3, ABUSIVE), ...repeat(15, CALM)]);
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.actions('cancelled').map((e) => e.reason)).toEqual(['condition cleared']);
  });

  it('case 2 live: single angry seconds, or loud happy speech, never hang up', async () => {
    w = world(live());
    w.addCall('c1', 'agent');
    const spiky = Array.from({ length: 120 }, (_, i) => (i % 4 === 0 ? { ANG: 0.95 } : CALM));
    const excited: Scores = { HAP: 0.45, ANG: 0.45, DIS: 0.05 };
    await w.play('c1', [...spiky, ...repeat(60, excited)]);
    await w.wait(30_000);
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.control.ops('play')).toEqual([]);
  });

  it('a voice unfamiliar to the model (familiarity under 0.05) is neither transferred nor hung up on; the queue priority still applies', async () => {
    FAMILIARITY.value = 0.01; // at 0.5 the same calls are transferred and hung up on (checked when written)
    w = world(live());
    w.addCall('menu', 'ivr');
    w.addCall('waiting', 'queued', { queue: 'support' });
    w.addCall('agent', 'agent');
    await w.play('menu', [...repeat(10, CALM), ...repeat(12, DISTRESSED)]);
    await w.play('waiting', [...repeat(10, CALM), ...repeat(8, DISTRESSED)]);
    await w.play('agent', [...repeat(60, CALM), ...repeat(40, ABUSIVE)]);
    await w.wait(30_000);
    expect(w.control.calls.filter((c) => c.op === 'transfer' || c.op === 'hangup')).toEqual([]);
    expect(w.control.calls.map((c) => [c.op, c.callId])).toContainEqual(['setPriority', 'waiting']);
  });

  it('case 3: every decision names the rule, the call and carries the scores', async () => {
    w = world(live());
    w.addCall('c1', 'agent');
    await w.play('c1', [...repeat(40, CALM), ...repeat(35, ABUSIVE)]);
    const events = w.actions();
    expect(new Set(events.map((e) => e.outcome))).toEqual(new Set(['proposed', 'executed', 'pending']));
    for (const e of events) {
      expect(e.callId).toBe('c1');
      expect(e.evidence.length).toBeGreaterThanOrEqual(10);
      expect(w.logs.some((l) => l.actionId === e.actionId && l.rule === e.rule && l.outcome === e.outcome)).toBe(true);
    }
  });
});

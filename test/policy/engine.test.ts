import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ANGRY, CALM, DISTRESSED, repeat, world, type World } from './world.js';

/** Safety defaults relaxed so that each test isolates the one mechanism it is about. */
function relaxed(extra: Record<string, unknown> = {}) {
  const { hangup, ...rest } = extra as { hangup?: Record<string, unknown> };
  return {
    minCallAgeSeconds: 0,
    cooldownSeconds: 0,
    ...rest,
    hangup: { minCallAgeSeconds: 0, minClassifiedWindows: 1, maxPerMinute: 100, ...hangup },
  };
}

function rule(over: Record<string, unknown> = {}) {
  return { name: 'escalate', when: { signal: 'negativity', above: 0.7, for: '5s' }, actions: [{ setVars: { SER_ESCALATE: '1' } }], ...over };
}

const HANGUP_RULE = {
  name: 'abuse',
  scope: { phases: ['agent'] },
  when: { signal: 'negativity', above: 0.7, for: '10s' },
  actions: [{ hangup: { cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: '10s' } } }],
};

let w: World;

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') });
});
afterEach(() => {
  w?.engine.close();
  vi.useRealTimers();
});

describe('sustained conditions', () => {
  it('fires only once the condition has held for `for` seconds of speech', async () => {
    w = world({ safety: relaxed(), rules: [rule()] });
    w.addCall('c1', 'ivr');
    await w.play('c1', repeat(4, ANGRY));
    expect(w.control.calls).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.calls.map((c) => [c.op, c.arg])).toEqual([['setVariables', { SER_ESCALATE: '1' }]]);
    expect(w.actions().map((e) => e.outcome)).toEqual(['proposed', 'executed']);
  });

  it('a dip below the threshold restarts the count', async () => {
    w = world({ safety: relaxed(), rules: [rule()] });
    w.addCall('c1', 'ivr');
    await w.play('c1', [...repeat(4, ANGRY), CALM, ...repeat(4, ANGRY)]);
    expect(w.control.calls).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.ops()).toEqual(['setVariables:c1']);
  });

  it('silent seconds neither extend nor break an episode (silence: hold)', async () => {
    w = world({ safety: relaxed(), rules: [rule()] });
    w.addCall('c1', 'ivr');
    await w.play('c1', [...repeat(3, ANGRY), 'silent', 'silent', ANGRY]);
    expect(w.control.calls).toEqual([]); // 4 seconds of speech: the two silent ones did not count
    await w.play('c1', [ANGRY]);
    expect(w.control.ops()).toEqual(['setVariables:c1']);
  });

  it('silence: break makes a silent second end the episode', async () => {
    w = world({ safety: relaxed({ silence: 'break' }), rules: [rule()] });
    w.addCall('c1', 'ivr');
    await w.play('c1', [...repeat(4, ANGRY), 'silent', ...repeat(4, ANGRY)]);
    expect(w.control.calls).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.ops()).toEqual(['setVariables:c1']);
  });

  it('a gap of missing updates longer than maxGapSeconds breaks the episode; a shorter one does not', async () => {
    w = world({ safety: relaxed({ maxGapSeconds: 3 }), rules: [rule()] });
    w.addCall('long', 'ivr');
    w.addCall('short', 'ivr');
    await w.play('long', [...repeat(3, ANGRY), ...repeat(3, 'missing' as const), ...repeat(2, ANGRY)]);
    expect(w.control.calls).toEqual([]);
    await w.play('short', [...repeat(3, ANGRY), 'missing', ...repeat(2, ANGRY)]);
    expect(w.control.ops()).toEqual(['setVariables:short']);
  });

  it('a label-sum signal and an any-condition combine as configured', async () => {
    w = world({
      safety: relaxed(),
      rules: [
        rule({ name: 'distress', when: { all: [{ signal: 'FEA+SAD', above: 0.8 }, { any: [{ signal: 'FEA', above: 0.4 }, { signal: 'SAD', above: 0.4 }] }], for: '3s' } }),
        rule({ name: 'anger', when: { signal: 'ANG', above: 0.6, for: '3s' }, actions: [{ priority: { add: 5 } }] }),
      ],
    });
    w.addCall('c1', 'queued');
    await w.play('c1', repeat(3, DISTRESSED));
    expect(w.actions('executed').map((e) => e.rule)).toEqual(['distress']);
  });
});

describe('hysteresis and alerts', () => {
  it('scores wobbling between clearBelow and above fire once and raise one alert; dropping below clearBelow re-arms', async () => {
    w = world({
      safety: relaxed(),
      rules: [rule({ when: { signal: 'negativity', above: 0.7, clearBelow: 0.5, for: '3s' }, maxPerCall: 5, alert: 'caller upset' })],
    });
    w.addCall('c1', 'queued');
    await w.play('c1', repeat(3, ANGRY));
    const wobble = [{ ANG: 0.6 }, { ANG: 0.9 }];
    await w.play('c1', [...wobble, ...wobble, ...wobble, ...wobble]);
    expect(w.control.calls).toHaveLength(1);
    expect(w.alerts().map((a) => a.state)).toEqual(['raised']);
    await w.play('c1', [{ ANG: 0.3 }]);
    expect(w.alerts().map((a) => a.state)).toEqual(['raised', 'cleared']);
    await w.play('c1', repeat(3, ANGRY));
    expect(w.control.calls).toHaveLength(2);
    expect(w.alerts().map((a) => a.state)).toEqual(['raised', 'cleared', 'raised']);
    expect(w.alerts()[0]!.message).toContain('caller upset');
  });

  it('without clearBelow the default margin (safety.hysteresis.probability) applies', async () => {
    w = world({ safety: relaxed({ hysteresis: { probability: 0.1 } }), rules: [rule({ when: { signal: 'ANG', above: 0.7, for: '4s' } })] });
    w.addCall('c1', 'ivr');
    // 0.62 is under the threshold but inside the band: the episode goes on.
    await w.play('c1', [{ ANG: 0.75 }, { ANG: 0.62 }, { ANG: 0.62 }, { ANG: 0.75 }]);
    expect(w.control.calls).toHaveLength(1);
    w.addCall('c2', 'ivr');
    await w.play('c2', [{ ANG: 0.75 }, { ANG: 0.59 }, { ANG: 0.75 }, { ANG: 0.75 }, { ANG: 0.75 }]);
    expect(w.control.ops()).toEqual(['setVariables:c1']);
  });
});

describe('safety mechanisms', () => {
  it('per-rule cooldown: a new episode within the cooldown is suppressed once, then fires when it expires', async () => {
    w = world({ safety: relaxed(), rules: [rule({ when: { signal: 'negativity', above: 0.7, for: '2s' }, cooldown: '30s', maxPerCall: 5 })] });
    w.addCall('c1', 'queued');
    await w.play('c1', [...repeat(2, ANGRY), CALM, ...repeat(10, ANGRY)]);
    expect(w.control.calls).toHaveLength(1);
    const suppressed = w.actions('suppressed');
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]!.reason).toMatch(/cooldown/);
    await w.play('c1', repeat(20, ANGRY)); // the first fire was at 2 s: the cooldown ends at 32 s
    expect(w.control.calls).toHaveLength(2);
    expect(w.control.calls[1]!.at - w.control.calls[0]!.at).toBe(30_000);
  });

  it('minimum call age: nothing fires on a call younger than minCallAge, and the suppression is published once', async () => {
    w = world({ safety: relaxed(), rules: [rule({ when: { signal: 'negativity', above: 0.7, for: '2s' }, minCallAge: '20s' })] });
    w.addCall('c1', 'ivr');
    await w.play('c1', repeat(19, ANGRY));
    expect(w.control.calls).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.calls).toHaveLength(1);
    expect(w.actions('suppressed').map((e) => e.reason)).toEqual(['call is 2s old (minimum 20s)']);
  });

  it('maxPerCall (default 1) holds across episodes', async () => {
    w = world({ safety: relaxed(), rules: [rule({ when: { signal: 'negativity', above: 0.7, for: '2s' } })] });
    w.addCall('c1', 'queued');
    await w.play('c1', [...repeat(3, ANGRY), CALM, ...repeat(3, ANGRY), CALM, ...repeat(3, ANGRY)]);
    expect(w.control.calls).toHaveLength(1);
    expect(w.actions('suppressed').map((e) => e.reason)).toEqual([
      'rule already fired 1 time(s) on this call (maxPerCall 1)',
      'rule already fired 1 time(s) on this call (maxPerCall 1)',
    ]);
  });

  it('maxActionsPerCall caps actions across rules', async () => {
    const r = (name: string) => rule({ name, when: { signal: 'negativity', above: 0.7, for: '2s' } });
    w = world({ safety: relaxed({ maxActionsPerCall: 2 }), rules: [r('a'), r('b'), r('c')] });
    w.addCall('c1', 'queued');
    await w.play('c1', repeat(2, ANGRY));
    expect(w.actions('executed').map((e) => e.rule)).toEqual(['a', 'b']);
    expect(w.actions('suppressed').map((e) => [e.rule, e.reason])).toEqual([['c', 'call already had 2 action(s) (safety.maxActionsPerCall 2)']]);
  });

  it('the global hang-up rate limit holds across calls and refills with time', async () => {
    w = world({
      safety: relaxed({ hangup: { maxPerMinute: 2, requireWarning: false } }),
      rules: [{ ...HANGUP_RULE, actions: [{ hangup: { cause: 'normal' } }] }],
    });
    for (const id of ['a', 'b', 'c']) w.addCall(id, 'agent');
    for (let s = 0; s < 10; s++) for (const id of ['a', 'b', 'c']) await w.play(id, [ANGRY]);
    expect(w.control.ops('hangup')).toHaveLength(2);
    expect(w.actions('suppressed').map((e) => [e.callId, e.reason])).toEqual([['c', 'global hang-up rate limit (2/min) reached']]);
    // The bucket refills 2 per 60 s: the third call, still angry, gets a token about 30 s after b's.
    for (let s = 0; s < 40; s++) await w.play('c', [ANGRY]);
    const hangups = w.control.calls.filter((c) => c.op === 'hangup');
    expect(hangups.map((c) => c.callId)).toEqual(['a', 'b', 'c']);
    expect(hangups[2]!.at - hangups[1]!.at).toBeGreaterThanOrEqual(28_000);
    expect(hangups[2]!.at - hangups[1]!.at).toBeLessThanOrEqual(30_000);
  });

  it('hang-up needs safety.hangup.minClassifiedWindows classified windows', async () => {
    w = world({ safety: relaxed({ hangup: { minClassifiedWindows: 15 } }), rules: [HANGUP_RULE] });
    w.addCall('c1', 'agent');
    await w.play('c1', [...repeat(10, 'silent' as const), ...repeat(14, ANGRY)]);
    expect(w.control.calls).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.ops()).toEqual(['play:c1']);
    expect(w.actions('suppressed').map((e) => e.reason)).toEqual(['only 10 classified windows (safety.hangup.minClassifiedWindows 15)']);
  });

  it('hang-up needs safety.hangup.minCallAgeSeconds, even when the rule asks for less', async () => {
    w = world({ safety: relaxed({ hangup: { minCallAgeSeconds: 30 } }), rules: [{ ...HANGUP_RULE, minCallAge: '5s' }] });
    w.addCall('c1', 'agent');
    await w.play('c1', repeat(29, ANGRY));
    expect(w.control.calls).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.ops()).toEqual(['play:c1']);
    expect(w.actions('suppressed').map((e) => e.reason)).toEqual(['call is 10s old (minimum 30s)']);
  });

  it('a single angry second never hangs up, whatever surrounds it', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    w.addCall('c1', 'agent');
    const minute = Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? { ANG: 0.99 } : i % 5 === 0 ? 'silent' : CALM));
    await w.play('c1', [...minute, ...minute, ...minute]);
    await w.wait(30_000);
    expect(w.control.calls).toEqual([]);
    expect(w.actions()).toEqual([]);
  });
});

describe('shadow mode', () => {
  it('a shadow rule never calls the PBX, publishes "shadow" and logs "would have"', async () => {
    w = world({ safety: relaxed(), rules: [{ ...HANGUP_RULE, shadow: true }, rule({ name: 'vars', shadow: true })] });
    w.addCall('c1', 'agent');
    await w.play('c1', repeat(40, ANGRY));
    await w.wait(60_000);
    expect(w.control.calls).toEqual([]);
    expect(w.engine.pending()).toEqual([]);
    const shadow = w.actions('shadow');
    expect(shadow.map((e) => [e.rule, e.kind, e.shadow])).toEqual([
      ['vars', 'setVars', true],
      ['abuse', 'hangup', true],
    ]);
    expect(shadow[1]!.reason).toMatch(/^shadow mode: would have warn \(sound:ser-warning\), then hang up/);
    expect(w.logs.some((l) => String(l.msg).startsWith('would have warn') && l.rule === 'abuse' && l.callId === 'c1')).toBe(true);
  });

  it('dryRun makes every rule shadow', async () => {
    w = world({ dryRun: true, safety: relaxed(), rules: [rule({ actions: [{ transfer: { queue: 'priority' } }] })] });
    w.addCall('c1', 'ivr');
    await w.play('c1', repeat(10, ANGRY));
    expect(w.control.calls).toEqual([]);
    expect(w.actions('shadow').map((e) => e.reason)).toEqual(['dryRun: would have transfer to queue priority']);
  });
});

describe('warn-before-hangup', () => {
  async function fire(): Promise<number> {
    w.addCall('c1', 'agent');
    await w.play('c1', repeat(10, ANGRY));
    return Date.now();
  }

  it('plays the warning, holds the hang-up for the grace period, then hangs up while the condition still holds', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    const firedAt = await fire();
    expect(w.control.calls.map((c) => [c.op, c.arg])).toEqual([['play', 'sound:ser-warning']]);
    const pending = w.actions('pending');
    expect(pending.map((e) => [e.reason, e.dueAt])).toEqual([
      ['playing the warning', null],
      ['warning played', new Date(firedAt + 10_000).toISOString()],
    ]);
    expect(w.engine.pending('c1').map((p) => p.actionId)).toEqual([pending[0]!.actionId]);
    await w.play('c1', repeat(9, ANGRY));
    expect(w.control.ops('hangup')).toEqual([]);
    await w.play('c1', [ANGRY]);
    expect(w.control.calls.map((c) => c.op)).toEqual(['play', 'hangup']);
    expect(w.control.calls[1]!.at).toBe(firedAt + 10_000);
    const executed = w.actions('executed');
    expect(executed.map((e) => [e.actionId, e.kind])).toEqual([[pending[0]!.actionId, 'hangup']]);
    // The audit covers the episode and the grace period.
    expect(executed[0]!.evidence.length).toBeGreaterThanOrEqual(19);
    expect(executed[0]!.evidence.every((p) => p.negativity >= 0.7)).toBe(true);
    expect(w.engine.pending()).toEqual([]);
  });

  it('cancels when the condition clears during the grace period', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    await fire();
    await w.play('c1', [...repeat(4, ANGRY), CALM, ...repeat(10, ANGRY)]);
    expect(w.control.ops()).toEqual(['play:c1']);
    expect(w.actions('cancelled').map((e) => e.reason)).toEqual(['condition cleared']);
  });

  it('cancels when the caller falls silent after the warning (the condition cannot be confirmed)', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    await fire();
    await w.play('c1', [ANGRY, ANGRY, ...repeat(10, 'silent' as const)]);
    expect(w.control.ops()).toEqual(['play:c1']);
    expect(w.actions('cancelled')[0]!.reason).toBe('condition not confirmed: 0 of 3 seconds of speech after the warning');
  });

  it('cancels when the call leaves the rule\'s phases during the grace period', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    await fire();
    await w.play('c1', repeat(3, ANGRY));
    w.registry.update('c1', { phase: 'queued', queue: 'support' });
    await w.play('c1', repeat(10, ANGRY));
    expect(w.control.ops()).toEqual(['play:c1']);
    expect(w.actions('cancelled')[0]!.reason).toBe("call left the rule's scope (now queued)");
  });

  it('never hangs up when the warning could not be played', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    w.control.results.play = () => Promise.resolve({ ok: false, error: 'channel not found', status: 404 });
    await fire();
    await w.play('c1', repeat(15, ANGRY));
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.actions('failed').map((e) => e.reason)).toEqual(['precondition failed: the warning was not confirmed played (channel not found)']);
    expect(w.engine.pending()).toEqual([]);
  });

  it('starts the grace period only once the warning has played to the end', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    let played: (r: { ok: boolean }) => void = () => {};
    w.control.results.play = () => new Promise((r) => (played = r));
    const firedAt = await fire();
    expect(w.engine.pending()[0]!.dueAt).toBeNull();
    await w.play('c1', repeat(4, ANGRY)); // a 4 s prompt
    played({ ok: true });
    await w.wait(0);
    expect(w.engine.pending()[0]!.dueAt).toBe(new Date(firedAt + 14_000).toISOString());
    await w.play('c1', repeat(9, ANGRY));
    expect(w.control.ops('hangup')).toEqual([]);
    await w.play('c1', repeat(1, ANGRY));
    expect(w.control.calls.find((c) => c.op === 'hangup')!.at).toBe(firedAt + 14_000);
  });

  it('a hang-up cancelled while its warning plays stays cancelled when the warning ends', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    let played: (r: { ok: boolean }) => void = () => {};
    w.control.results.play = () => new Promise((r) => (played = r));
    await fire();
    expect(w.engine.cancel(w.engine.pending()[0]!.actionId, 'alice')).toBe(true);
    played({ ok: true });
    await w.play('c1', repeat(20, ANGRY));
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.actions('pending')).toHaveLength(1);
  });

  it('a supervisor cancel stops the hang-up, and a second cancel returns false', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    await fire();
    const [p] = w.engine.pending();
    expect(w.engine.cancel(p!.actionId, 'alice')).toBe(true);
    expect(w.engine.cancel(p!.actionId, 'alice')).toBe(false);
    await w.play('c1', repeat(20, ANGRY));
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.actions('cancelled').map((e) => [e.actionId, e.reason])).toEqual([[p!.actionId, 'cancelled by alice']]);
  });

  it('cancellation wins a race with the grace timer in the same tick', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    w.addCall('c1', 'agent');
    await w.play('c1', repeat(9, ANGRY));
    // Due at the same instant as the grace timer the next update starts, and queued before it.
    let cancelled: boolean | null = null;
    let cancelledAt = 0;
    setTimeout(() => {
      cancelled = w.engine.cancel(w.engine.pending()[0]!.actionId, 'supervisor');
      cancelledAt = Date.now();
    }, 11_000);
    await w.play('c1', repeat(15, ANGRY));
    expect(w.actions('pending')).toHaveLength(2);
    expect(cancelled).toBe(true);
    expect(cancelledAt).toBe(Date.parse(w.actions('pending')[1]!.dueAt!));
    expect(w.control.ops('hangup')).toEqual([]);
  });

  it('once the grace timer has issued the hang-up, cancel returns false (and never true after a hang-up)', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    let release: (r: { ok: boolean }) => void = () => {};
    w.control.results.hangup = () => new Promise((r) => (release = r));
    await fire();
    const id = w.engine.pending()[0]!.actionId;
    let cancelled: boolean | null = null;
    setTimeout(() => (cancelled = w.engine.cancel(id, 'supervisor')), 10_000); // same tick, queued after the grace timer
    await w.play('c1', repeat(10, ANGRY));
    expect(cancelled).toBe(false);
    expect(w.control.ops('hangup')).toEqual(['hangup:c1']);
    expect(w.engine.cancel(id, 'supervisor')).toBe(false); // in flight: too late
    release({ ok: true });
    await w.wait(0);
    expect(w.actions().filter((e) => e.actionId === id).map((e) => e.outcome)).toEqual(['proposed', 'pending', 'pending', 'executed']);
  });

  it('the end of the call cancels its pending hang-up', async () => {
    w = world({ safety: relaxed(), rules: [HANGUP_RULE] });
    await fire();
    w.engine.callEnded('c1');
    await w.wait(20_000);
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.actions('cancelled').map((e) => e.reason)).toEqual(['call ended']);
    expect(w.alerts().map((a) => a.state)).toEqual(['raised', 'cleared']);
  });

  it('a cancelled hang-up gives its rate-limit token back', async () => {
    w = world({ safety: relaxed({ hangup: { maxPerMinute: 1 } }), rules: [HANGUP_RULE] });
    await fire();
    w.engine.cancel(w.engine.pending()[0]!.actionId, 'alice');
    w.addCall('c2', 'agent');
    await w.play('c2', repeat(10, ANGRY));
    expect(w.control.ops()).toEqual(['play:c1', 'play:c2']);
  });
});

describe('scope', () => {
  it('rules apply only in their phases, queues and contexts', async () => {
    w = world({
      safety: relaxed(),
      rules: [
        rule({ name: 'support-queue', scope: { phases: ['queued'], queues: ['support'] }, actions: [{ priority: { add: 5 } }] }),
        rule({ name: 'vip-ivr', scope: { phases: ['ivr'], contexts: ['vip-menu'] }, actions: [{ transfer: { context: 'agents', extension: 's' } }] }),
      ],
    });
    w.addCall('sales', 'queued', { queue: 'sales' });
    w.addCall('support', 'queued', { queue: 'support' });
    w.addCall('menu', 'ivr', { context: 'main-menu' });
    w.addCall('vip', 'ivr', { context: 'vip-menu' });
    w.addCall('talking', 'agent', { queue: 'support' });
    for (const id of ['sales', 'support', 'menu', 'vip', 'talking']) await w.play(id, repeat(6, ANGRY));
    expect(w.control.calls.map((c) => [c.op, c.callId, c.arg])).toEqual([
      ['setPriority', 'support', { add: 5 }],
      ['transfer', 'vip', { context: 'agents', extension: 's' }],
    ]);
  });

  it('updates for calls the registry does not know are ignored', async () => {
    w = world({ safety: relaxed(), rules: [rule()] });
    await w.play('ghost', repeat(10, ANGRY));
    expect(w.control.calls).toEqual([]);
  });
});

describe('audit trail', () => {
  it('every decision is an event and a log line with the rule, the call and the scores', async () => {
    w = world({ safety: relaxed(), rules: [rule({ actions: [{ setVars: { SER_ESCALATE: '1' } }, { transfer: { queue: 'priority' } }] })] });
    w.addCall('c1', 'ivr');
    await w.play('c1', [CALM, CALM, CALM, CALM, ...repeat(5, ANGRY)]);
    expect(w.control.calls.map((c) => c.op)).toEqual(['setVariables', 'transfer']);
    const events = w.actions();
    expect(events.map((e) => [e.kind, e.outcome])).toEqual([
      ['setVars', 'proposed'],
      ['transfer', 'proposed'],
      ['setVars', 'executed'],
      ['transfer', 'executed'],
    ]);
    for (const e of events) {
      expect(e.rule).toBe('escalate');
      expect(e.callId).toBe('c1');
      // The sustained seconds (t = 8..12) plus the lead-in: the calm seconds before it are context.
      expect(e.evidence.map((p) => p.t)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
      expect(e.evidence.slice(3).every((p) => p.negativity >= 0.7)).toBe(true);
      const line = w.logs.find((l) => l.actionId === e.actionId && l.outcome === e.outcome);
      expect(line).toMatchObject({ component: 'policy', rule: 'escalate', callId: 'c1', kind: e.kind });
      expect((line!.evidence as unknown[]).length).toBe(e.evidence.length);
    }
    expect(events[2]!.params).toEqual({ SER_ESCALATE: '1' });
    expect(events[3]!.params).toEqual({ queue: 'priority' });
  });

  it('a PBX failure is a failed event with the PBX error, logged as a warning', async () => {
    w = world({ safety: relaxed(), rules: [rule({ actions: [{ priority: { set: 10 } }] })] });
    w.control.results.setPriority = () => Promise.resolve({ ok: false, error: 'POST /channels/c1/variable: 409 not in Stasis', status: 409 });
    w.addCall('c1', 'queued');
    await w.play('c1', repeat(5, ANGRY));
    const [failed] = w.actions('failed');
    expect(failed!.reason).toBe('POST /channels/c1/variable: 409 not in Stasis');
    expect(w.logs.find((l) => l.actionId === failed!.actionId && l.outcome === 'failed')!.level).toBe(40);
  });

  it('force() executes through the same audit, naming who forced it', async () => {
    w = world({ safety: relaxed(), rules: [] });
    w.addCall('c1', 'queued');
    await w.play('c1', repeat(3, CALM));
    const result = await w.engine.force('c1', { kind: 'priority', add: 3 }, 'bob');
    expect(result.ok).toBe(true);
    expect(w.control.calls.map((c) => [c.op, c.arg])).toEqual([['setPriority', { add: 3 }]]);
    expect(w.actions().map((e) => [e.outcome, e.reason, e.rule])).toEqual([
      ['proposed', 'forced by bob', 'forced'],
      ['executed', 'forced by bob', 'forced'],
    ]);
    expect(w.actions()[1]!.evidence).toHaveLength(3);
    const unknown = await w.engine.force('nope', { kind: 'hangup', cause: 'normal' }, 'bob');
    expect(unknown.ok).toBe(false);
    expect(w.control.ops('hangup')).toEqual([]);
    expect(w.actions('failed')[0]!.reason).toBe('forced by bob: unknown call');
  });

  it('a forced hang-up with a warning is pending and cancellable like a rule\'s', async () => {
    w = world({ safety: relaxed(), rules: [] });
    w.addCall('c1', 'agent');
    await w.engine.force('c1', { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 5 } }, 'bob');
    expect(w.engine.pending('c1')).toHaveLength(1);
    await w.wait(5_000);
    expect(w.control.ops()).toEqual(['play:c1', 'hangup:c1']);
    expect(w.actions('executed')[0]!.reason).toBe('forced by bob');
  });
});

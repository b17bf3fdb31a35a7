import { afterEach, describe, expect, it } from 'vitest';
import { healthReport, type HealthInput } from '../../src/console/health.js';
import type { ActionControl, ActionSpec, PendingAction } from '../../src/policy/control.js';
import type { PbxResult } from '../../src/pbx/types.js';
import { errorsOf, validator } from './schema.js';
import { addCall, probs, world, type World } from './support.js';

interface ErrorBody {
  error: { code: string; message: string; key?: string };
}

function control(result: PbxResult = { ok: true }) {
  const pending: PendingAction[] = [];
  const forced: { callId: string; action: ActionSpec; by: string }[] = [];
  const actions: ActionControl = {
    pending: (callId) => pending.filter((p) => !callId || p.callId === callId),
    cancel: (actionId) => {
      const i = pending.findIndex((p) => p.actionId === actionId);
      if (i < 0) return false;
      pending.splice(i, 1);
      return true;
    },
    force: async (callId, action, by) => {
      forced.push({ callId, action, by });
      return result;
    },
  };
  return { actions, pending, forced };
}

const postJson = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('/api', () => {
  let w: World | null = null;
  afterEach(async () => {
    await w?.server.close();
    w = null;
  });

  it('GET /api/calls lists live calls with their last emotion, alerts and pending actions; GET /api/calls/:id adds the recent timeline', async () => {
    const c = control();
    w = await world({ actions: c.actions });
    addCall(w.registry, 'c1', { queue: 'support' });
    addCall(w.registry, 'c2');
    c.pending.push({ actionId: 'p1', callId: 'c1', rule: 'abuse', action: { kind: 'hangup', cause: 'normal' }, dueAt: new Date().toISOString(), evidence: [] });
    for (let seq = 1; seq <= 3; seq++) {
      const e = w.bus.publish({ type: 'emotion', callId: 'c1', seq, start: seq, end: seq + 3, speech: true, speechRatio: 0.9, loudnessDbfs: -20, probs: probs('ANG', 0.5 + seq / 10), dominant: 'ANG', confidence: 0.5 + seq / 10, negativity: 0.9, arousal: 0.7, adjusted: probs('ANG', 0.5 + seq / 10), adjustedNegativity: 0.9, baselineWindows: 0, baselineNegativity: null, familiarity: null, latencyMs: 10 });
      w.registry.update('c1', { lastEmotion: e as Extract<typeof e, { type: 'emotion' }> });
    }
    w.bus.publish({ type: 'alert', callId: 'c1', state: 'raised', rule: 'angry', message: 'anger high' });
    w.bus.publish({ type: 'action', callId: 'c1', actionId: 'p1', rule: 'abuse', kind: 'hangup', params: { cause: 'normal' }, outcome: 'pending', reason: null, dueAt: new Date().toISOString(), shadow: false, evidence: [] });

    const list = (await (await fetch(`${w.server.url}/api/calls`)).json()) as { calls: { callId: string; pending: { actionId: string }[]; lastEmotion: { seq: number } | null; alerts: unknown[] }[] };
    expect(list.calls.map((x) => x.callId)).toEqual(['c1', 'c2']);
    for (const call of list.calls) expect(errorsOf(validator('callSnapshot'), call)).toBe('');
    expect(list.calls[0]!.pending.map((p) => p.actionId)).toEqual(['p1']);
    expect(list.calls[0]!.lastEmotion?.seq).toBe(3);
    expect(list.calls[0]!.alerts).toHaveLength(1);
    expect(list.calls[1]!).toMatchObject({ pending: [], lastEmotion: null, alerts: [] });

    const detail = (await (await fetch(`${w.server.url}/api/calls/c1`)).json()) as { call: { callId: string }; history: { timeline: { probs: Record<string, number> }[]; alerts: unknown[]; actions: unknown[] } };
    expect(detail.call.callId).toBe('c1');
    expect(detail.history.timeline.map((p) => p.probs.ANG)).toEqual([0.6, 0.7, 0.8].map((x) => expect.closeTo(x, 9)));
    expect(detail.history.alerts).toHaveLength(1);
    expect(detail.history.actions).toHaveLength(1);

    const pending = (await (await fetch(`${w.server.url}/api/actions/pending`)).json()) as { pending: { actionId: string }[] };
    expect(pending.pending.map((p) => p.actionId)).toEqual(['p1']);

    w.registry.remove('c1', 'hangup', { durationSeconds: 3, windows: 3, classified: 3, meanProbs: null, dominant: null, peakNegativity: null, actionsExecuted: 0, rtp: null });
    const gone = await fetch(`${w.server.url}/api/calls/c1`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as ErrorBody).error.code).toBe('UNKNOWN_CALL');
  });

  it('POST /api/actions/:id/cancel cancels a pending action once; then 404 NOT_PENDING', async () => {
    const c = control();
    w = await world({ actions: c.actions });
    c.pending.push({ actionId: 'p1', callId: 'c1', rule: 'abuse', action: { kind: 'hangup', cause: 'normal' }, dueAt: new Date().toISOString(), evidence: [] });
    const first = await fetch(`${w.server.url}/api/actions/p1/cancel`, { method: 'POST' });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ cancelled: true, actionId: 'p1' });
    const again = await fetch(`${w.server.url}/api/actions/p1/cancel`, { method: 'POST' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as ErrorBody).error.code).toBe('NOT_PENDING');
  });

  it('POST /api/calls/:id/actions forces a valid action and passes who asked', async () => {
    const c = control();
    w = await world({ actions: c.actions });
    addCall(w.registry, 'c1');
    const url = `${w.server.url}/api/calls/c1/actions`;
    expect((await postJson(url, { kind: 'priority', add: 5, by: 'alice' })).status).toBe(200);
    expect((await postJson(url, { kind: 'transfer', target: { queue: 'vip' } })).status).toBe(200);
    expect((await postJson(url, { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 10 } })).status).toBe(200);
    expect(c.forced).toEqual([
      { callId: 'c1', action: { kind: 'priority', add: 5 }, by: 'alice' },
      { callId: 'c1', action: { kind: 'transfer', target: { queue: 'vip' } }, by: 'api' },
      { callId: 'c1', action: { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 10 } }, by: 'api' },
    ]);
  });

  describe('BAD CALL', () => {
    it('a malformed action gets 400 naming the offending key, and never reaches ActionControl', async () => {
      const c = control();
      w = await world({ actions: c.actions });
      addCall(w.registry, 'c1');
      const url = `${w.server.url}/api/calls/c1/actions`;
      const cases: [unknown, string][] = [
        [{ kind: 'explode' }, 'kind'],
        [{ kind: 'hangup' }, 'cause'],
        [{ kind: 'hangup', cause: 'sometimes' }, 'cause'],
        [{ kind: 'priority', add: 'five' }, 'add'],
        [{ kind: 'priority', add: 1, set: 2 }, 'set'],
        [{ kind: 'transfer', target: { queue: '' } }, 'target'],
        [{ kind: 'hangup', cause: 'normal', warn: { media: 'sound:x', graceSeconds: -1 } }, 'warn.graceSeconds'],
        [{ kind: 'play', media: 'sound:x', volume: 3 }, 'volume'],
        [{ kind: 'play', media: 'sound:x', by: '' }, 'by'],
      ];
      for (const [body, key] of cases) {
        const res = await postJson(url, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        const err = ((await res.json()) as ErrorBody).error;
        expect(err.code).toBe('BAD_REQUEST');
        expect(err.key, JSON.stringify(body)).toMatch(new RegExp(`^${key.replace('.', '\\.')}`));
      }
      for (const body of ['not json', '[1,2]', '']) {
        const res = await postJson(url, body);
        expect(res.status, body).toBe(400);
      }
      const big = await postJson(url, { kind: 'setVars', vars: { A: 'x'.repeat(20_000) } });
      expect(big.status).toBe(413);
      expect(c.forced).toEqual([]);
    });

    it('an unknown call gets 404, a PBX refusal 502 with its status, no rule engine 503, a wrong method 405', async () => {
      const c = control({ ok: false, error: 'channel not in Stasis [POST /channels/c1/continue]', status: 409 });
      w = await world({ actions: c.actions });
      addCall(w.registry, 'c1');
      const unknown = await postJson(`${w.server.url}/api/calls/nobody/actions`, { kind: 'hangup', cause: 'normal' });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as ErrorBody).error.code).toBe('UNKNOWN_CALL');
      const refused = await postJson(`${w.server.url}/api/calls/c1/actions`, { kind: 'hangup', cause: 'normal' });
      expect(refused.status).toBe(502);
      expect(await refused.json()).toEqual({ ok: false, error: { code: 'PBX_REFUSED', message: expect.stringContaining('Stasis'), status: 409 } });
      const wrongMethod = await fetch(`${w.server.url}/api/calls/c1/actions`);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
      expect((await fetch(`${w.server.url}/api/nothing`)).status).toBe(404);
      await w.server.close();

      w = await world({ actions: null });
      addCall(w.registry, 'c1');
      const none = await postJson(`${w.server.url}/api/calls/c1/actions`, { kind: 'hangup', cause: 'normal' });
      expect(none.status).toBe(503);
      expect(((await none.json()) as ErrorBody).error.code).toBe('ACTIONS_UNAVAILABLE');
      expect((await fetch(`${w.server.url}/api/actions/x/cancel`, { method: 'POST' })).status).toBe(503);
      expect(await (await fetch(`${w.server.url}/api/actions/pending`)).json()).toEqual({ pending: [] });
    });
  });
});

describe('/healthz', () => {
  const base: HealthInput = { ari: { connected: true, reconnects: 2 }, model: { loaded: true, name: 'ser-cnn' }, ports: { free: 5, total: 10 } };
  it.each([
    ['ok', base, 200],
    ['degraded', { ...base, ports: { free: 0, total: 10 } }, 503],
    ['down', { ...base, ari: { connected: false, reconnects: 3 } }, 503],
    ['down', { ...base, model: { loaded: false, name: null } }, 503],
  ] as const)('reports %s with the right status code', async (status, input, code) => {
    let current: HealthInput = input;
    const w = await world({ health: () => healthReport(current) });
    const res = await fetch(`${w.server.url}/healthz`);
    expect(res.status).toBe(code);
    expect(await res.json()).toEqual({ status, ...input });
    current = base;
    expect((await fetch(`${w.server.url}/healthz`)).status).toBe(200);
    await w.server.close();
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { TargetAllowlist } from '../../src/config/targets.js';
import { EventBus } from '../../src/events/bus.js';
import { HistoryRecorder, SqliteStore } from '../../src/history/index.js';
import { createLogger } from '../../src/log/logger.js';
import type { ActionControl, PendingAction } from '../../src/policy/control.js';
import { EMPTY_SUMMARY, TOKEN, addCall, probs, world, type World } from './support.js';

const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-abcdefghijklmn';

/** The rule engine's side of cancel, as it publishes it. */
function pendingControl(bus: EventBus, pending: PendingAction[]): ActionControl {
  return {
    pending: (callId) => pending.filter((p) => callId === undefined || p.callId === callId),
    cancel(actionId, by) {
      const i = pending.findIndex((p) => p.actionId === actionId);
      if (i < 0) return false;
      const [p] = pending.splice(i, 1);
      bus.publish({ type: 'action', callId: p!.callId, actionId, rule: p!.rule, kind: 'hangup', params: { cause: 'normal' }, outcome: 'cancelled', reason: `cancelled by ${by}`, dueAt: null, shadow: false, evidence: [] });
      return true;
    },
    force: () => Promise.resolve({ ok: true }),
  };
}

describe('call history through /api (issue 16 item 2)', () => {
  let w: World | null = null;
  let recorder: HistoryRecorder | null = null;
  afterEach(async () => {
    await w?.server.close();
    await recorder?.close();
    w = recorder = null;
  });

  async function setup(extra: Parameters<typeof world>[0] = {}): Promise<{ w: World; listened: string[] }> {
    const bus = extra.bus ?? new EventBus();
    recorder = new HistoryRecorder({ bus, store: new SqliteStore(':memory:'), logger: createLogger('silent'), instance: 'test', flushMs: 60_000 });
    const listened: string[] = [];
    w = await world({
      bus,
      records: recorder,
      targets: new TargetAllowlist({ dialplan: [], agents: [], supervisors: ['PJSIP/2001'] }),
      listen: (callId, endpoint, spy) => (listened.push(`${callId}>${endpoint}:${spy}`), Promise.resolve({ ok: true })),
      ...extra,
    });
    return { w, listened };
  }

  const get = async (path: string, token?: string) => {
    const res = await fetch(`${w!.server.url}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${w!.server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  function angryCall(world_: World, callId: string): void {
    addCall(world_.registry, callId, { queue: 'support' });
    for (let i = 0; i < 3; i++) {
      world_.bus.publish({ type: 'emotion', callId, seq: i + 1, start: i, end: i + 3, speech: true, speechRatio: 0.8, loudnessDbfs: -20, probs: probs('ANG', 0.8), dominant: 'ANG', confidence: 0.8, negativity: 0.9, arousal: 0.8, adjusted: probs('ANG', 0.8), adjustedNegativity: 0.9, baselineWindows: i, baselineNegativity: null, familiarity: null, latencyMs: 10 });
    }
    world_.bus.publish({ type: 'alert', callId, state: 'raised', rule: 'abuse', message: 'hostile' });
  }

  it('an ended call is still there: GET /api/calls/:id answers from the database instead of 404', async () => {
    const { w } = await setup();
    angryCall(w, 'c1');
    w.registry.remove('c1', 'caller hung up', { ...EMPTY_SUMMARY, dominant: 'ANG', peakNegativity: 0.9 });
    const r = await get('/api/calls/c1');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text);
    expect(body.call).toMatchObject({ callId: 'c1', state: 'ended', endReason: 'caller hung up', dominant: 'ANG' });
    expect(body.history.timeline.length).toBeGreaterThanOrEqual(1);
    expect(body.history.timeline[0].probs.ANG).toBeCloseTo(0.8);
    expect(body.history.alerts[0]).toMatchObject({ rule: 'abuse', state: 'raised' });
    expect((await get('/api/calls/never')).status).toBe(404);
  });

  it('GET /api/calls filters history by state, emotion and action; a bad filter is a 400 naming it', async () => {
    const { w } = await setup();
    angryCall(w, 'angry');
    addCall(w.registry, 'calm');
    w.registry.remove('angry', 'caller hung up', { ...EMPTY_SUMMARY, dominant: 'ANG' });
    const ids = async (q: string) => (JSON.parse((await get(`/api/calls?${q}`)).text).calls as { callId: string }[]).map((c) => c.callId);
    expect(await ids('state=ended')).toEqual(['angry']);
    expect(await ids('state=live')).toEqual(['calm']);
    expect(await ids('emotion=ang')).toEqual(['angry']);
    expect(await ids('action=hangup')).toEqual([]);
    expect(await ids(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    // Without a history parameter it is the live list, as before.
    expect(JSON.parse((await get('/api/calls')).text).calls.map((c: { callId: string }) => c.callId)).toEqual(['calm']);
    for (const [q, key] of [['state=gone', 'state'], ['from=yesterday', 'from'], ['action=explode', 'action'], ['limit=0', 'limit']]) {
      const r = await get(`/api/calls?${q}`);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text).error.key).toBe(key);
    }
  });

  it('exports CSV (one row per call, formulas defused) and JSON lines (each call with its history)', async () => {
    const { w } = await setup();
    w.registry.add({ callId: 'x1', channelName: 'PJSIP/x', callerNumber: '+4930', callerName: '=HYPERLINK("evil")', mode: 'monitor', phase: 'ivr' });
    angryCall(w, 'x2');
    const csv = await get('/api/export/calls?format=csv');
    expect(csv.type).toContain('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 3)).toEqual(['callId', 'instance', 'state']);
    expect(lines).toHaveLength(3);
    expect(csv.text).toContain(`"'=HYPERLINK(""evil"")"`);
    const json = await get('/api/export/calls?format=json&emotion=ANG');
    const rows = json.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.call.callId)).toEqual(['x2']);
    expect(rows[0].history.alerts).toHaveLength(1);
    expect((await get('/api/export/calls?format=xml')).status).toBe(400);
  });

  it('named tokens: the audit names the supervisor whose token cancelled, whatever "by" says', async () => {
    const bus = new EventBus();
    const pending: PendingAction[] = [{ actionId: 'p1', callId: 'c1', rule: 'abuse', action: { kind: 'hangup', cause: 'normal' }, dueAt: new Date(Date.now() + 60_000).toISOString(), evidence: [] }];
    const { w } = await setup({ bus, token: TOKEN, namedTokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }], actions: pendingControl(bus, pending) });
    addCall(w.registry, 'c1');
    expect((await post('/api/actions/p1/cancel', { by: 'mallory' }, 'wrong-token-000000000')).status).toBe(403);
    expect((await post('/api/actions/p1/cancel', { by: 'mallory' }, ALICE)).status).toBe(200);
    const stored = JSON.parse((await get('/api/calls?state=live', BOB)).text).calls;
    expect(stored.map((c: { callId: string }) => c.callId)).toEqual(['c1']);
    await recorder!.flush();
    const call = (await recorder!.store.getCall('c1'))!;
    expect(call.actions.map((a) => [a.outcome, a.reason, a.decidedBy])).toEqual([['cancelled', 'cancelled by alice', 'alice']]);
    // The single unnamed token still works, without a name: "by" (or "api") is used.
    expect((await get('/api/calls', TOKEN)).status).toBe(200);
  });

  it('listen-in: only an allowlisted supervisor endpoint is rung; the audit names who asked', async () => {
    const { w, listened } = await setup({ namedTokens: [{ name: 'carol', token: ALICE }], token: null });
    addCall(w.registry, 'c1');
    expect((await post('/api/calls/c1/listen', { supervisor: 'PJSIP/0900123456@pstn', spy: 'in' }, ALICE)).body.error.code).toBe('TARGET_NOT_ALLOWED');
    expect((await post('/api/calls/c1/listen', { supervisor: 'PJSIP/2001', spy: 'whisper' }, ALICE)).body.error.key).toBe('spy');
    expect(listened).toEqual([]);
    const ok = await post('/api/calls/c1/listen', { supervisor: 'PJSIP/2001', spy: 'both' }, ALICE);
    expect(ok).toMatchObject({ status: 200, body: { ok: true, by: 'carol' } });
    expect(listened).toEqual(['c1>PJSIP/2001:both']);
    expect(JSON.parse((await get('/api/supervisors', ALICE)).text)).toEqual({ supervisors: ['PJSIP/2001'] });
    await recorder!.flush();
    expect((await recorder!.store.getCall('c1'))!.audit).toEqual([expect.objectContaining({ actor: 'carol', what: 'listen', detail: { supervisor: 'PJSIP/2001', spy: 'both', ok: true } })]);
  });
});

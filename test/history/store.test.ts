import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import { EventBus } from '../../src/events/bus.js';
import type { CallSummary } from '../../src/events/types.js';
import { HistoryRecorder, PostgresStore, SqliteStore, ThreadedSqliteStore, type HistoryStore } from '../../src/history/index.js';
import { createLogger } from '../../src/log/logger.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
const PG_URL = process.env.SER_TEST_PG_URL;

function probs(dominant: string, p = 0.7): Record<string, number> {
  const rest = (1 - p) / (LABELS.length - 1);
  return Object.fromEntries(LABELS.map((l) => [l, l === dominant ? p : rest]));
}

const SUMMARY: CallSummary = { durationSeconds: 12, windows: 10, classified: 8, meanProbs: probs('ANG', 0.6), dominant: 'ANG', peakNegativity: 0.91, actionsExecuted: 1, rtp: null };

/** A controllable clock for the bus: events carry the times the test chooses. */
class Clock {
  t = Date.parse('2026-05-01T10:00:00.000Z');
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

interface Rig {
  bus: EventBus;
  registry: CallRegistry;
  clock: Clock;
  recorder: HistoryRecorder;
}

function rig(store: HistoryStore, instance = 'box-1', clock = new Clock()): Rig {
  const bus = new EventBus(clock.now);
  const registry = new CallRegistry(bus);
  const recorder = new HistoryRecorder({ bus, store, logger: createLogger('silent'), instance, flushMs: 60_000, retentionDays: 30, now: clock.now });
  return { bus, registry, clock, recorder };
}

function emotion(r: Rig, callId: string, dominant: string, p: number, speech = true): void {
  const pr = probs(dominant, p);
  const negativity = pr.ANG! + pr.DIS! + pr.FEA! + pr.SAD!;
  r.bus.publish({ type: 'emotion', callId, seq: 1, start: 0, end: 3, speech, speechRatio: 0.8, loudnessDbfs: -20, probs: pr, dominant, confidence: p, negativity, arousal: 0.5, adjusted: pr, adjustedNegativity: negativity, baselineWindows: 0, baselineNegativity: null, familiarity: null, latencyMs: 20 });
}

/** One angry call with a forced, cancelled and rule-executed action; one calm call still live. */
async function scenario(r: Rig): Promise<void> {
  r.registry.add({ callId: 'angry', channelName: 'PJSIP/trunk-1', callerNumber: '+4930111', callerName: 'Ann', mode: 'queue', phase: 'queued', queue: 'support' });
  for (let s = 0; s < 5; s++) {
    emotion(r, 'angry', 'ANG', 0.8);
    r.clock.advance(400);
    emotion(r, 'angry', 'ANG', 0.85); // a second update within the same second: one timeline point per second
    r.clock.advance(600);
  }
  r.registry.update('angry', { phase: 'agent', agent: 'PJSIP/1001' });
  r.bus.publish({ type: 'alert', callId: 'angry', state: 'raised', rule: 'abuse', message: 'hostile: ANG+DIS >= 0.7 for 3s' });
  const evidence = [{ t: 3, probs: probs('ANG', 0.8), negativity: 0.9, loudnessDbfs: -18, speechRatio: 0.8 }];
  const step = (actionId: string, rule: string, kind: 'priority' | 'hangup', outcome: 'proposed' | 'executed' | 'pending' | 'cancelled', reason: string | null) =>
    r.bus.publish({ type: 'action', callId: 'angry', actionId, rule, kind, params: kind === 'hangup' ? { cause: 'normal' } : { add: 5 }, outcome, reason, dueAt: null, shadow: false, evidence });
  step('a1', 'abuse-prio', 'priority', 'proposed', null);
  step('a1', 'abuse-prio', 'priority', 'executed', null);
  step('a2', 'abuse-hangup', 'hangup', 'pending', 'warning played');
  step('a2', 'abuse-hangup', 'hangup', 'cancelled', 'cancelled by alice');
  step('a3', 'forced', 'priority', 'executed', 'forced by bob');
  r.recorder.audit({ callId: 'angry', actor: 'carol', what: 'listen', detail: { supervisor: 'PJSIP/2001', spy: 'in' } });
  r.registry.remove('angry', 'caller hung up', SUMMARY);
  // What the rule engine publishes just after the call ended is still recorded.
  r.bus.publish({ type: 'alert', callId: 'angry', state: 'cleared', rule: 'abuse', message: 'call ended' });

  r.clock.advance(60_000);
  r.registry.add({ callId: 'calm', channelName: 'PJSIP/trunk-2', callerNumber: '+4930222', callerName: null, mode: 'monitor', phase: 'ivr' });
  emotion(r, 'calm', 'NEU', 0.7);
  r.clock.advance(1000);
  emotion(r, 'calm', 'NEU', 0.75);
  await r.recorder.flush();
}

function contract(name: string, open: () => Promise<HistoryStore>, reopen: (() => Promise<HistoryStore>) | null): void {
  describe(name, () => {
    const open_: HistoryStore[] = [];
    const fresh = async (): Promise<HistoryStore> => {
      const s = await open();
      open_.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open_.splice(0)) await s.close().catch(() => undefined);
    });

    it('keeps a call: summary, a timeline at 1 s, alerts, and each action step with who decided', async () => {
      const r = rig(await fresh());
      await scenario(r);
      const got = (await r.recorder.store.getCall('angry'))!;
      expect(got.call).toMatchObject({
        callId: 'angry', instance: 'box-1', state: 'ended', callerNumber: '+4930111', callerName: 'Ann', mode: 'queue', phase: 'agent',
        queue: 'support', agent: 'PJSIP/1001', endReason: 'caller hung up', durationSeconds: 12, dominant: 'ANG', peakNegativity: 0.91, actionsExecuted: 1,
      });
      expect(got.call.startedAt).toBe('2026-05-01T10:00:00.000Z');
      expect(got.call.summary).toEqual(SUMMARY);
      expect(got.timeline.map((p) => p.t - got.timeline[0]!.t)).toEqual([0, 1, 2, 3, 4]);
      expect(got.timeline[0]!.probs.ANG).toBeCloseTo(0.85); // the latest update of its second
      expect(got.timeline[0]).toMatchObject({ speech: true, dominant: 'ANG' });
      expect(got.alerts.map((a) => a.state)).toEqual(['raised', 'cleared']);
      expect(got.actions.map((a) => [a.actionId, a.outcome, a.decidedBy])).toEqual([
        ['a1', 'proposed', 'rule:abuse-prio'],
        ['a1', 'executed', 'rule:abuse-prio'],
        ['a2', 'pending', 'rule:abuse-hangup'],
        ['a2', 'cancelled', 'alice'],
        ['a3', 'executed', 'bob'],
      ]);
      expect(got.actions[1]!.evidence[0]!.negativity).toBe(0.9);
      expect(got.audit).toEqual([expect.objectContaining({ actor: 'carol', what: 'listen', detail: { supervisor: 'PJSIP/2001', spy: 'in' } })]);
      expect(await r.recorder.store.getCall('nope')).toBeNull();
      await r.recorder.close();
    });

    it('an audit entry for a call it has no row for (a listen-in to an unknown id) is not written, and the history goes on', async () => {
      const r = rig(await fresh());
      r.recorder.audit({ callId: 'no-such-call', actor: 'mallory', what: 'listen', detail: { supervisor: 'PJSIP/2001', spy: 'in' } });
      await scenario(r);
      expect(r.recorder.stats.failures).toBe(0);
      expect((await r.recorder.store.getCall('calm'))!.timeline).toHaveLength(2);
      expect(await r.recorder.store.getCall('no-such-call')).toBeNull();
    });

    it('lists calls by state, time, emotion and action', async () => {
      const r = rig(await fresh());
      await scenario(r);
      const ids = async (q: Parameters<HistoryStore['listCalls']>[0]) => (await r.recorder.store.listCalls(q)).map((c) => c.callId);
      expect(await ids({})).toEqual(['calm', 'angry']); // newest first
      expect(await ids({ state: 'live' })).toEqual(['calm']);
      expect(await ids({ state: 'ended' })).toEqual(['angry']);
      expect(await ids({ from: '2026-05-01T10:00:30.000Z' })).toEqual(['calm']);
      expect(await ids({ to: '2026-05-01T10:00:30.000Z' })).toEqual(['angry']);
      expect(await ids({ emotion: ['ANG'] })).toEqual(['angry']);
      expect(await ids({ emotion: ['NEU'] })).toEqual(['calm']); // a live call's running dominant emotion
      expect(await ids({ emotion: ['SAD', 'NEU', 'ANG'] })).toEqual(['calm', 'angry']);
      expect(await ids({ action: [{ kind: 'hangup', outcome: null }] })).toEqual(['angry']);
      expect(await ids({ action: [{ kind: 'hangup', outcome: 'executed' }] })).toEqual([]);
      expect(await ids({ action: [{ kind: null, outcome: 'cancelled' }] })).toEqual(['angry']);
      expect(await ids({ state: 'live', action: [{ kind: 'priority', outcome: null }] })).toEqual([]);
      expect(await ids({ limit: 1 })).toEqual(['calm']);
      await r.recorder.close();
    });

    it('retention deletes calls older than the configured days, with everything about them', async () => {
      const store = await fresh();
      const r = rig(store);
      await scenario(r);
      expect(await store.purge('2026-05-01T10:00:30.000Z')).toBe(1);
      expect(await store.getCall('angry')).toBeNull();
      expect((await store.listCalls({})).map((c) => c.callId)).toEqual(['calm']);
      await r.recorder.close();
    });

    if (reopen) {
      it('survives a restart: what was flushed is there, and calls left live by the stopped instance are ended', async () => {
        const r = rig(await open());
        await scenario(r);
        await r.recorder.close(); // stops like a crash would leave things: "calm" never ended
        const again = await reopen();
        open_.push(again);
        const r2 = rig(again, 'box-1', r.clock);
        // Another instance's live calls are not its business.
        expect((await again.listCalls({ state: 'live' })).map((c) => c.callId)).toEqual(['calm']);
        await r2.recorder.start();
        expect(await again.listCalls({ state: 'live' })).toEqual([]);
        const calm = (await again.getCall('calm'))!;
        expect(calm.call).toMatchObject({ state: 'ended', endReason: 'ser-ari stopped during the call', dominant: 'NEU' });
        expect(calm.timeline).toHaveLength(2);
        expect((await again.getCall('angry'))!.actions).toHaveLength(5);
        await r2.recorder.close();
      });
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), 'ser-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let last = '';
contract(
  'history store on SQLite (node-sqlite3-wasm, a file)',
  () => Promise.resolve(new SqliteStore((last = join(dir, `h${n++}.sqlite`)))),
  () => Promise.resolve(new SqliteStore(last)),
);

contract(
  'history store on SQLite in a worker thread (what ser-ari runs)',
  () => ThreadedSqliteStore.open((last = join(dir, `h${n++}.sqlite`))),
  () => ThreadedSqliteStore.open(last),
);

describe('SQLite history file', () => {
  it('one process per file: a second open while the owner runs is refused with HISTORY_IN_USE', async () => {
    const path = join(dir, 'owned.sqlite');
    const { writeFileSync } = await import('node:fs');
    const s = new SqliteStore(path);
    await s.close();
    writeFileSync(`${path}.pid`, `${process.ppid}\n`); // a live process that is not us
    await expect(ThreadedSqliteStore.open(path)).rejects.toMatchObject({ code: 'HISTORY_IN_USE' });
    writeFileSync(`${path}.pid`, '2147483646\n'); // a process that is gone: taken over
    const again = await ThreadedSqliteStore.open(path);
    await again.close();
  });

  it('a lock directory left by a crash does not block the next start', async () => {
    const path = join(dir, 'crashed.sqlite');
    const s = new SqliteStore(path);
    await s.close();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(`${path}.lock`); // what the VFS holds during a transaction
    const again = new SqliteStore(path);
    await again.write({ started: [{ callId: 'x', instance: 'i', channelName: 'c', callerNumber: null, callerName: null, mode: 'monitor', phase: 'ivr', queue: null, context: null, startedAt: new Date().toISOString() }], patches: [], ended: [], timeline: [], alerts: [], actions: [], audit: [] });
    expect((await again.listCalls({})).map((c) => c.callId)).toEqual(['x']);
    await again.close();
  });
});

// PostgreSQL: opt-in, against a real server (.ci/run starts one with scripts/pg-throwaway.sh and sets
// SER_TEST_PG_URL). Each test gets a database of its own.
const pgDatabases: string[] = [];
async function pgDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  pgDatabases.push(name);
  const u = new URL(PG_URL!);
  u.pathname = `/${name}`;
  return u.toString();
}
let pgLast = '';
if (PG_URL) {
  contract(
    'history store on PostgreSQL (SER_TEST_PG_URL)',
    async () => PostgresStore.open((pgLast = await pgDatabase(`ser_hist_${process.pid}_${n++}`))),
    () => PostgresStore.open(pgLast),
  );
  describe('PostgreSQL shared by several instances', () => {
    it('two instances write into one history, and each ends only its own orphans', async () => {
      const url = await pgDatabase(`ser_hist_${process.pid}_shared`);
      const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]); // concurrent schema creation
      const ra = rig(a, 'box-a');
      const rb = rig(b, 'box-b');
      ra.registry.add({ callId: 'a-1', channelName: 'PJSIP/a', callerNumber: null, callerName: null, mode: 'monitor', phase: 'ivr' });
      rb.registry.add({ callId: 'b-1', channelName: 'PJSIP/b', callerNumber: null, callerName: null, mode: 'monitor', phase: 'ivr' });
      await Promise.all([ra.recorder.flush(), rb.recorder.flush()]);
      expect((await a.listCalls({ state: 'live' })).map((c) => c.instance).sort()).toEqual(['box-a', 'box-b']);
      expect(await a.endOrphans('box-a', 'restarted', new Date().toISOString())).toBe(1);
      expect((await b.listCalls({ state: 'live' })).map((c) => c.callId)).toEqual(['b-1']);
      await ra.recorder.close();
      await rb.recorder.close();
    });
  });
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    for (const d of pgDatabases) await admin.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  });
} else {
  describe.skip('history store on PostgreSQL (skipped: set SER_TEST_PG_URL, as .ci/run does)', () => {
    it('runs the store contract against a real PostgreSQL', () => undefined);
  });
}

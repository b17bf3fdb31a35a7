// History store cost: 1,000 calls of 3 minutes, 500 at once, one batch per second (docs/console.md, "Call history").
// node --import tsx scripts/bench-history.ts   (SER_TEST_PG_URL=postgres://... adds PostgreSQL)
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SqliteStore, ThreadedSqliteStore, PostgresStore, emptyBatch, type HistoryStore } from '../src/history/index.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
const probs = () => { const r = LABELS.map(() => Math.random()); const s = r.reduce((a, b) => a + b); return Object.fromEntries(LABELS.map((l, i) => [l, Math.round((r[i]! / s) * 1e4) / 1e4])); };
const CALLS = 1000, SECONDS = 180, CONCURRENT = 500;
async function run(store: HistoryStore, label: string, size: () => number) {
  const t0 = Date.parse('2026-05-01T10:00:00Z') / 1000;
  let writeMs = 0, batches = 0, maxMs = 0, syncMs = 0;
  const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
  // calls in waves of CONCURRENT, each second one batch with one timeline row per live call (as the recorder writes)
  for (let wave = 0; wave < CALLS / CONCURRENT; wave++) {
    const ids = Array.from({ length: CONCURRENT }, (_, i) => `c${wave}-${i}`);
    for (let s = 0; s < SECONDS; s++) {
      const b = emptyBatch();
      const ts = t0 + wave * SECONDS + s;
      if (s === 0) for (const id of ids) b.started.push({ callId: id, instance: 'bench', channelName: `PJSIP/${id}`, callerNumber: '+4930123456', callerName: null, mode: 'queue', phase: 'queued', queue: 'support', context: 'from-pstn', startedAt: new Date(ts * 1000).toISOString() });
      for (const id of ids) { const p = probs(); b.timeline.push({ callId: id, t: ts, speech: true, negativity: p.ANG! + p.DIS! + p.FEA! + p.SAD!, dominant: 'NEU', probs: p }); }
      for (const id of ids) b.patches.push({ callId: id, dominant: 'NEU', peakNegativity: 0.5 });
      if (s === 90) for (const id of ids) { b.alerts.push({ callId: id, ts: new Date(ts * 1000).toISOString(), rule: 'abuse', state: 'raised', message: 'hostile' }); for (const o of ['proposed', 'executed'] as const) b.actions.push({ callId: id, ts: new Date(ts * 1000).toISOString(), actionId: `${id}-a`, rule: 'prio', kind: 'priority', params: { add: 5 }, outcome: o, reason: null, decidedBy: 'rule:prio', dueAt: null, shadow: false, evidence: Array.from({ length: 10 }, (_, k) => ({ t: k, probs: probs(), negativity: 0.8, loudnessDbfs: -20, speechRatio: 0.8 })) }); }
      if (s === SECONDS - 1) for (const id of ids) b.ended.push({ callId: id, endedAt: new Date((ts + 1) * 1000).toISOString(), reason: 'caller hung up', summary: { durationSeconds: SECONDS, windows: SECONDS, classified: SECONDS, meanProbs: probs(), dominant: 'NEU', peakNegativity: 0.6, actionsExecuted: 1, rtp: null } });
      const t = performance.now();
      const sync0 = performance.now(); const pw = store.write(b); syncMs = Math.max(syncMs, performance.now() - sync0);
      await pw;
      const ms = performance.now() - t;
      writeMs += ms; batches++; maxMs = Math.max(maxMs, ms);
    }
  }
  const t = performance.now(); const got = await store.getCall('c1-7'); const readMs = performance.now() - t;
  const t2 = performance.now(); const list = await store.listCalls({ emotion: ['NEU'], state: 'ended', limit: 1000 }); const listMs = performance.now() - t2;
  h.disable();
  console.log(JSON.stringify({ label, maxSyncMsOnEventLoop: +syncMs.toFixed(1), loopDelayMaxMs: +(h.max / 1e6).toFixed(1), loopDelayP99Ms: +(h.percentile(99) / 1e6).toFixed(1), calls: CALLS, secondsPerCall: SECONDS, concurrent: CONCURRENT, batches, meanBatchMs: +(writeMs / batches).toFixed(2), maxBatchMs: +maxMs.toFixed(1), writeMsPerCall: +(writeMs / CALLS).toFixed(2), sizeMB: +(size() / 1e6).toFixed(1), readOneCallMs: +readMs.toFixed(1), timelinePoints: got?.timeline.length, list1000Ms: +listMs.toFixed(1), listed: list.length }));
  await store.close();
}
const dir = mkdtempSync(join(tmpdir(), 'ser-bench-'));
const path = join(dir, 'h.sqlite');
await run(new SqliteStore(path), 'sqlite on the event loop', () => statSync(path).size);
const path2 = join(dir, 'h2.sqlite');
await run(await ThreadedSqliteStore.open(path2), 'sqlite in a worker thread', () => statSync(path2).size);
if (process.env.SER_TEST_PG_URL) {
  const s = await PostgresStore.open(process.env.SER_TEST_PG_URL);
  await run(s, 'postgres (fsync=off test cluster)', () => 0);
}

import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type { SerEvent } from '../events/types.js';
import { batchSize, decidedBy, emptyBatch, type AuditRow, type Batch, type HistoryStore } from './store.js';

export interface RecorderOptions {
  bus: EventBus;
  store: HistoryStore;
  logger: Logger;
  /** This ser-ari's name in a shared history (history.instance). */
  instance: string;
  /** A batch is written this often (ms). What is not written yet is lost on a crash. */
  flushMs?: number;
  /** Calls older than this are deleted, at start and then hourly. null keeps everything. */
  retentionDays?: number | null;
  now?: () => Date;
}

export interface RecorderStats {
  batches: number;
  rows: number;
  failures: number;
  /** Time spent in store.write, ms, total. */
  writeMs: number;
  queued: number;
}

interface Running {
  sums: Map<string, number>;
  classified: number;
  peak: number | null;
  dominant: string | null;
}

const MAX_QUEUED_ROWS = 200_000;

/**
 * Writes every call's history to the store: its row when it starts, changes of phase, one timeline
 * point per second, alerts, action steps with who decided, and the summary when it ends. Listens to
 * the bus synchronously (only appends to an in-memory batch) and writes one transaction per
 * `flushMs`. A failed write is logged and retried with the next batch; past MAX_QUEUED_ROWS the
 * oldest timeline points are dropped first (counted), so a dead database never grows the heap.
 */
export class HistoryRecorder {
  readonly store: HistoryStore;
  readonly #o: RecorderOptions;
  readonly #log: Logger;
  readonly #now: () => Date;
  #batch: Batch = emptyBatch();
  readonly #running = new Map<string, Running>();
  /**
   * Calls whose row this recorder wrote, until a minute after they ended (the rule engine publishes
   * "alert cleared" / "action cancelled" just after call.ended). Events of any other call (one that
   * began before this recorder, an agent-side stream) are not recorded: they have no call row.
   */
  readonly #ended = new Map<string, number>();
  /** Live calls whose running dominant emotion / peak changed since the last write. */
  readonly #touched = new Set<string>();
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;
  #purgeTimer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #dropped = 0;
  readonly stats: RecorderStats = { batches: 0, rows: 0, failures: 0, writeMs: 0, queued: 0 };

  constructor(opts: RecorderOptions) {
    this.#o = opts;
    this.store = opts.store;
    this.#log = opts.logger.child({ component: 'history' });
    this.#now = opts.now ?? (() => new Date());
    this.#unsubscribe = opts.bus.subscribe((e) => this.#record(e));
    this.#timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * Ends the calls this instance left live when it stopped (crash, kill) and applies retention.
   * Called once at start-up, before any call arrives.
   */
  async start(): Promise<void> {
    const orphans = await this.store.endOrphans(this.#o.instance, 'ser-ari stopped during the call', this.#now().toISOString());
    if (orphans > 0) this.#log.warn({ calls: orphans }, 'calls left live by the previous run of this instance marked ended');
    await this.#purge();
    if (this.#o.retentionDays != null) {
      this.#purgeTimer = setInterval(() => void this.#purge(), 3600_000);
      this.#purgeTimer.unref();
    }
  }

  /** A supervisor command that is not an action event (listen-in): written with the next batch. */
  audit(row: Omit<AuditRow, 'ts'>): void {
    // No call row, no audit row: PostgreSQL's foreign key would fail the whole batch, every flush.
    if (!this.#known(row.callId)) return;
    this.#batch.audit.push({ ...row, ts: this.#now().toISOString() });
  }

  /** Writes what is queued; resolves once it (and any write before it) is in the store. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#timer);
    if (this.#purgeTimer) clearInterval(this.#purgeTimer);
    await this.flush();
    await this.store.close();
  }

  async #write(): Promise<void> {
    // The running summary of live calls, so `emotion=` finds them too: one update per call and flush.
    for (const callId of this.#touched) {
      const r = this.#running.get(callId);
      if (r) this.#batch.patches.push({ callId, dominant: r.dominant, peakNegativity: r.peak });
    }
    this.#touched.clear();
    const forgetBefore = Date.now() - 60_000;
    for (const [callId, at] of this.#ended) {
      if (at >= forgetBefore) break; // in order of ending
      this.#ended.delete(callId);
    }
    // One timeline point per call and second: the latest update of that second.
    const points = new Map<string, Batch['timeline'][number]>();
    for (const p of this.#batch.timeline) points.set(`${p.callId}\n${p.t}`, p);
    if (points.size !== this.#batch.timeline.length) this.#batch.timeline = [...points.values()];
    const batch = this.#batch;
    const rows = batchSize(batch);
    if (rows === 0) return;
    this.#batch = emptyBatch();
    const t0 = performance.now();
    try {
      await this.store.write(batch);
      this.stats.batches++;
      this.stats.rows += rows;
    } catch (err) {
      this.stats.failures++;
      this.#log.error({ err: (err as Error).message, rows }, 'history write failed: kept for the next flush');
      this.#requeue(batch);
    } finally {
      this.stats.writeMs += performance.now() - t0;
      this.stats.queued = batchSize(this.#batch);
    }
  }

  /** A failed batch goes back in front of what arrived since, bounded. */
  #requeue(failed: Batch): void {
    const b = this.#batch;
    for (const k of Object.keys(b) as (keyof Batch)[]) (b[k] as unknown[]) = [...failed[k], ...b[k]];
    const excess = batchSize(b) - MAX_QUEUED_ROWS;
    if (excess > 0) {
      const n = Math.min(excess, b.timeline.length);
      b.timeline.splice(0, n);
      this.#dropped += n;
      this.#log.warn({ dropped: this.#dropped }, 'history store unreachable: oldest timeline points dropped');
    }
  }

  async #purge(): Promise<void> {
    const days = this.#o.retentionDays;
    if (days == null) return;
    const before = new Date(this.#now().getTime() - days * 86_400_000).toISOString();
    try {
      const n = await this.store.purge(before);
      if (n > 0) this.#log.info({ calls: n, before }, 'history retention: old calls deleted');
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'history retention failed');
    }
  }

  #known(callId: string): boolean {
    return this.#running.has(callId) || this.#ended.has(callId);
  }

  #record(e: SerEvent): void {
    const b = this.#batch;
    if (e.type !== 'call.started' && !this.#known(e.callId)) return;
    switch (e.type) {
      case 'call.started':
        b.started.push({
          callId: e.callId,
          instance: this.#o.instance,
          channelName: e.channelName,
          callerNumber: e.callerNumber,
          callerName: e.callerName,
          mode: e.mode,
          phase: e.phase,
          queue: e.queue,
          context: e.context,
          startedAt: e.ts,
        });
        this.#running.set(e.callId, { sums: new Map(), classified: 0, peak: null, dominant: null });
        return;
      case 'call.phase':
        b.patches.push({ callId: e.callId, phase: e.phase, queue: e.queue, agent: e.agent });
        return;
      case 'call.ended':
        b.ended.push({ callId: e.callId, endedAt: e.ts, reason: e.reason, summary: e.summary });
        this.#running.delete(e.callId);
        this.#ended.set(e.callId, Date.now());
        return;
      case 'emotion': {
        const r = this.#running.get(e.callId);
        if (!r) return; // an agent-side stream or a call that began before this recorder
        const t = Math.floor(Date.parse(e.ts) / 1000);
        b.timeline.push({ callId: e.callId, t, speech: e.speech, negativity: e.negativity, dominant: e.dominant, probs: e.probs });
        if (!e.speech) return;
        r.classified++;
        for (const [label, p] of Object.entries(e.probs)) r.sums.set(label, (r.sums.get(label) ?? 0) + p);
        const peak = r.peak === null ? e.negativity : Math.max(r.peak, e.negativity);
        let dominant: string | null = null;
        let best = -1;
        for (const [label, sum] of r.sums) if (sum > best) (best = sum), (dominant = label);
        r.peak = peak;
        r.dominant = dominant;
        this.#touched.add(e.callId);
        return;
      }
      case 'alert':
        b.alerts.push({ callId: e.callId, ts: e.ts, rule: e.rule, state: e.state, message: e.message });
        return;
      case 'action':
        b.actions.push({
          callId: e.callId,
          ts: e.ts,
          actionId: e.actionId,
          rule: e.rule,
          kind: e.kind,
          params: e.params,
          outcome: e.outcome,
          reason: e.reason,
          decidedBy: decidedBy(e.rule, e.outcome, e.reason),
          dueAt: e.dueAt,
          shadow: e.shadow,
          evidence: e.evidence,
        });
        return;
      default:
        return;
    }
  }
}

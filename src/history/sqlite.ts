import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Database as DatabaseT } from 'node-sqlite3-wasm';
import { SerError } from '../errors.js';
import type { CallSummary } from '../events/types.js';
import { callRowFrom, type ActionRow, type AlertRow, type AuditRow, type Batch, type CallQuery, type CallRow, type HistoryStore, type StoredCall, type TimelineRow } from './store.js';

// CommonJS, synchronous: loading it compiles the WASM module once (about 60 ms).
const require = createRequire(import.meta.url);
const { Database } = require('node-sqlite3-wasm') as { Database: typeof DatabaseT };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calls (
  call_id TEXT PRIMARY KEY, instance TEXT NOT NULL, channel_name TEXT NOT NULL, caller_number TEXT, caller_name TEXT,
  mode TEXT NOT NULL, phase TEXT NOT NULL, queue TEXT, context TEXT, agent TEXT,
  started_at TEXT NOT NULL, ended_at TEXT, end_reason TEXT, duration_seconds REAL,
  dominant TEXT, peak_negativity REAL, actions_executed INTEGER NOT NULL DEFAULT 0, summary TEXT);
CREATE INDEX IF NOT EXISTS calls_started_at ON calls (started_at);
CREATE TABLE IF NOT EXISTS timeline (
  call_id TEXT NOT NULL, t INTEGER NOT NULL, speech INTEGER NOT NULL, negativity REAL NOT NULL, dominant TEXT NOT NULL, probs TEXT NOT NULL,
  PRIMARY KEY (call_id, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (call_id TEXT NOT NULL, ts TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_call ON alerts (call_id);
CREATE TABLE IF NOT EXISTS actions (
  call_id TEXT NOT NULL, ts TEXT NOT NULL, action_id TEXT NOT NULL, rule TEXT NOT NULL, kind TEXT NOT NULL, params TEXT NOT NULL,
  outcome TEXT NOT NULL, reason TEXT, decided_by TEXT NOT NULL, due_at TEXT, shadow INTEGER NOT NULL, evidence TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS actions_call ON actions (call_id);
CREATE TABLE IF NOT EXISTS audit (ts TEXT NOT NULL, call_id TEXT NOT NULL, actor TEXT NOT NULL, what TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_call ON audit (call_id);
`;

/**
 * SQLite through node-sqlite3-wasm: SQLite compiled to WebAssembly with a VFS on node:fs, so the
 * database is an ordinary file written page by page with SQLite's own rollback journal and fsync at
 * commit (nothing to install, no native build, no download). Durability is SQLite's: a committed
 * batch survives a crash or power loss; what the recorder had not flushed yet (at most one flush
 * interval, 1 s by default) is lost. Calls run synchronously on the event loop, so the recorder
 * writes one transaction per interval, never per event.
 *
 * Locking: this VFS locks with a `<file>.lock` directory (no POSIX locks, no WAL). One process owns
 * the file; a lock directory left by a crash is removed at open. Several instances share a history
 * through PostgreSQL, not through one SQLite file.
 */
export class SqliteStore implements HistoryStore {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: DatabaseT;
  readonly #stmts = new Map<string, ReturnType<DatabaseT['prepare']>>();

  /** A statement prepared once and kept (preparing costs more than running, through WASM). */
  #stmt(sql: string): ReturnType<DatabaseT['prepare']> {
    let st = this.#stmts.get(sql);
    if (!st) this.#stmts.set(sql, (st = this.#db.prepare(sql)));
    return st;
  }

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw new SerError('HISTORY_UNAVAILABLE', `cannot create the folder of the history file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
      claimOwner(path);
      // A crash inside a transaction leaves the VFS's lock directory behind, and every later open
      // would get SQLITE_BUSY. Nobody else owns the file (claimOwner), and the journal beside the file
      // makes SQLite roll the interrupted transaction back.
      if (existsSync(`${path}.lock`)) rmSync(`${path}.lock`, { recursive: true, force: true });
    }
    try {
      this.#db = new Database(path);
    } catch (err) {
      releaseOwner(path);
      throw new SerError('HISTORY_UNAVAILABLE', `cannot open the history file ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.#db.exec('PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;');
    this.#db.exec(SCHEMA);
  }

  /** Bytes on disk (0 for :memory:). */
  get sizeBytes(): number {
    return this.path === ':memory:' ? 0 : statSync(this.path).size;
  }

  write(b: Batch): Promise<void> {
    const db = this.#db;
    db.exec('BEGIN');
    try {
      for (const c of b.started) {
        this.#stmt(`INSERT INTO calls (call_id, instance, channel_name, caller_number, caller_name, mode, phase, queue, context, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING`).run([c.callId, c.instance, c.channelName, c.callerNumber, c.callerName, c.mode, c.phase, c.queue, c.context, c.startedAt],
        );
      }
      for (const p of b.patches) {
        const sets: string[] = [];
        const values: (string | number | null)[] = [];
        for (const [col, v] of [['phase', p.phase], ['queue', p.queue], ['agent', p.agent], ['dominant', p.dominant], ['peak_negativity', p.peakNegativity]] as const) {
          if (v === undefined) continue;
          sets.push(`${col} = ?`);
          values.push(v);
        }
        if (sets.length > 0) this.#stmt(`UPDATE calls SET ${sets.join(', ')} WHERE call_id = ?`).run([...values, p.callId]);
      }
      if (b.timeline.length > 0) {
        const stmt = this.#stmt('INSERT INTO timeline (call_id, t, speech, negativity, dominant, probs) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_id, t) DO UPDATE SET speech = excluded.speech, negativity = excluded.negativity, dominant = excluded.dominant, probs = excluded.probs');
        for (const r of b.timeline) stmt.run([r.callId, r.t, r.speech ? 1 : 0, r.negativity, r.dominant, JSON.stringify(r.probs)]);
      }
      for (const a of b.alerts) this.#stmt('INSERT INTO alerts (call_id, ts, rule, state, message) VALUES (?, ?, ?, ?, ?)').run([a.callId, a.ts, a.rule, a.state, a.message]);
      for (const a of b.actions) {
        this.#stmt('INSERT INTO actions (call_id, ts, action_id, rule, kind, params, outcome, reason, decided_by, due_at, shadow, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run([a.callId, a.ts, a.actionId, a.rule, a.kind, JSON.stringify(a.params), a.outcome, a.reason, a.decidedBy, a.dueAt, a.shadow ? 1 : 0, JSON.stringify(a.evidence)],
        );
      }
      for (const a of b.audit) this.#stmt('INSERT INTO audit (ts, call_id, actor, what, detail) VALUES (?, ?, ?, ?, ?)').run([a.ts, a.callId, a.actor, a.what, JSON.stringify(a.detail)]);
      for (const e of b.ended) {
        const s = e.summary;
        this.#stmt(`UPDATE calls SET ended_at = ?, end_reason = ?, duration_seconds = ?, dominant = COALESCE(?, dominant), peak_negativity = COALESCE(?, peak_negativity),
             actions_executed = ?, summary = ? WHERE call_id = ?`).run([e.endedAt, e.reason, s.durationSeconds, s.dominant, s.peakNegativity, s.actionsExecuted, JSON.stringify(s), e.callId],
        );
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      return Promise.reject(err as Error);
    }
    return Promise.resolve();
  }

  listCalls(q: CallQuery): Promise<CallRow[]> {
    const where: string[] = [];
    const values: (string | number)[] = [];
    if (q.state === 'live') where.push('ended_at IS NULL');
    if (q.state === 'ended') where.push('ended_at IS NOT NULL');
    if (q.from) (where.push('started_at >= ?'), values.push(q.from));
    if (q.to) (where.push('started_at < ?'), values.push(q.to));
    if (q.emotion?.length) (where.push(`dominant IN (${q.emotion.map(() => '?').join(', ')})`), values.push(...q.emotion));
    if (q.action?.length) {
      const any = q.action.map((a) => {
        const parts: string[] = [];
        if (a.kind) (parts.push('a.kind = ?'), values.push(a.kind));
        if (a.outcome) (parts.push('a.outcome = ?'), values.push(a.outcome));
        return parts.length ? `(${parts.join(' AND ')})` : '1';
      });
      where.push(`EXISTS (SELECT 1 FROM actions a WHERE a.call_id = calls.call_id AND (${any.join(' OR ')}))`);
    }
    values.push(Math.min(q.limit ?? 100, 10_000));
    const rows = this.#db.all(`SELECT * FROM calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC LIMIT ?`, values);
    return Promise.resolve(rows.map(callRow));
  }

  getCall(callId: string): Promise<StoredCall | null> {
    const row = this.#db.get('SELECT * FROM calls WHERE call_id = ?', [callId]);
    if (!row) return Promise.resolve(null);
    const timeline = this.#db.all('SELECT * FROM timeline WHERE call_id = ? ORDER BY t', [callId]).map(
      (r): TimelineRow => ({ callId, t: Number(r.t), speech: r.speech === 1, negativity: Number(r.negativity), dominant: String(r.dominant), probs: JSON.parse(String(r.probs)) as Record<string, number> }),
    );
    const alerts = this.#db.all('SELECT * FROM alerts WHERE call_id = ? ORDER BY ts, rowid', [callId]).map(
      (r): AlertRow => ({ callId, ts: String(r.ts), rule: String(r.rule), state: r.state as AlertRow['state'], message: String(r.message) }),
    );
    const actions = this.#db.all('SELECT * FROM actions WHERE call_id = ? ORDER BY ts, rowid', [callId]).map(
      (r): ActionRow => ({
        callId,
        ts: String(r.ts),
        actionId: String(r.action_id),
        rule: String(r.rule),
        kind: r.kind as ActionRow['kind'],
        params: JSON.parse(String(r.params)) as Record<string, unknown>,
        outcome: r.outcome as ActionRow['outcome'],
        reason: r.reason === null ? null : String(r.reason),
        decidedBy: String(r.decided_by),
        dueAt: r.due_at === null ? null : String(r.due_at),
        shadow: r.shadow === 1,
        evidence: JSON.parse(String(r.evidence)) as ActionRow['evidence'],
      }),
    );
    const audit = this.#db.all('SELECT * FROM audit WHERE call_id = ? ORDER BY ts, rowid', [callId]).map(
      (r): AuditRow => ({ callId, ts: String(r.ts), actor: String(r.actor), what: String(r.what), detail: JSON.parse(String(r.detail)) as Record<string, unknown> }),
    );
    return Promise.resolve({ call: callRow(row), timeline, alerts, actions, audit });
  }

  endOrphans(instance: string, reason: string, at: string): Promise<number> {
    const r = this.#db.run('UPDATE calls SET ended_at = ?, end_reason = ? WHERE instance = ? AND ended_at IS NULL', [at, reason, instance]);
    return Promise.resolve(r.changes);
  }

  purge(before: string): Promise<number> {
    const db = this.#db;
    db.exec('BEGIN');
    try {
      const old = 'SELECT call_id FROM calls WHERE started_at < ?';
      for (const t of ['timeline', 'alerts', 'actions', 'audit']) db.run(`DELETE FROM ${t} WHERE call_id IN (${old})`, [before]);
      const n = db.run('DELETE FROM calls WHERE started_at < ?', [before]).changes;
      db.exec('COMMIT');
      return Promise.resolve(n);
    } catch (err) {
      db.exec('ROLLBACK');
      return Promise.reject(err as Error);
    }
  }

  close(): Promise<void> {
    if (this.#db.isOpen) {
      for (const st of this.#stmts.values()) st.finalize();
      this.#stmts.clear();
      this.#db.close();
      if (this.path !== ':memory:') releaseOwner(this.path);
    }
    return Promise.resolve();
  }
}

/**
 * One process per file: `<file>.pid` names the owner. A live owner that is not us refuses the open;
 * a pid file left by a process that died is taken over.
 */
function claimOwner(path: string): void {
  const pidFile = `${path}.pid`;
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new SerError('HISTORY_IN_USE', `the history file ${path} is in use by process ${pid}: give each ser-ari its own history.path, or share one history with history.store: postgres`);
    }
  }
  writeFileSync(pidFile, `${process.pid}\n`);
}

function releaseOwner(path: string): void {
  try {
    if (Number(readFileSync(`${path}.pid`, 'utf8').trim()) === process.pid) rmSync(`${path}.pid`, { force: true });
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Row = Record<string, unknown>;

function callRow(r: Row): CallRow {
  return callRowFrom(r, {
    time: (v) => (v === null || v === undefined ? null : String(v)),
    summary: (v) => (v === null || v === undefined ? null : (JSON.parse(String(v)) as CallSummary)),
  });
}

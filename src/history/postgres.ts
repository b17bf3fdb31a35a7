import pg from 'pg';
import { SerError } from '../errors.js';
import { redactUrlUserinfo } from '../log/redact-url.js';
import type { CallSummary } from '../events/types.js';
import { callRowFrom, type ActionRow, type AlertRow, type AuditRow, type Batch, type CallQuery, type CallRow, type HistoryStore, type StoredCall, type TimelineRow } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ser_calls (
  call_id TEXT PRIMARY KEY, instance TEXT NOT NULL, channel_name TEXT NOT NULL, caller_number TEXT, caller_name TEXT,
  mode TEXT NOT NULL, phase TEXT NOT NULL, queue TEXT, context TEXT, agent TEXT,
  started_at TIMESTAMPTZ NOT NULL, ended_at TIMESTAMPTZ, end_reason TEXT, duration_seconds DOUBLE PRECISION,
  dominant TEXT, peak_negativity DOUBLE PRECISION, actions_executed INTEGER NOT NULL DEFAULT 0, summary JSONB);
CREATE INDEX IF NOT EXISTS ser_calls_started_at ON ser_calls (started_at);
CREATE INDEX IF NOT EXISTS ser_calls_live ON ser_calls (instance) WHERE ended_at IS NULL;
CREATE TABLE IF NOT EXISTS ser_timeline (
  call_id TEXT NOT NULL REFERENCES ser_calls (call_id) ON DELETE CASCADE, t BIGINT NOT NULL, speech BOOLEAN NOT NULL,
  negativity DOUBLE PRECISION NOT NULL, dominant TEXT NOT NULL, probs JSONB NOT NULL, PRIMARY KEY (call_id, t));
CREATE TABLE IF NOT EXISTS ser_alerts (
  id BIGSERIAL PRIMARY KEY, call_id TEXT NOT NULL REFERENCES ser_calls (call_id) ON DELETE CASCADE,
  ts TIMESTAMPTZ NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ser_alerts_call ON ser_alerts (call_id);
CREATE TABLE IF NOT EXISTS ser_actions (
  id BIGSERIAL PRIMARY KEY, call_id TEXT NOT NULL REFERENCES ser_calls (call_id) ON DELETE CASCADE,
  ts TIMESTAMPTZ NOT NULL, action_id TEXT NOT NULL, rule TEXT NOT NULL, kind TEXT NOT NULL, params JSONB NOT NULL,
  outcome TEXT NOT NULL, reason TEXT, decided_by TEXT NOT NULL, due_at TIMESTAMPTZ, shadow BOOLEAN NOT NULL, evidence JSONB NOT NULL);
CREATE INDEX IF NOT EXISTS ser_actions_call ON ser_actions (call_id);
CREATE TABLE IF NOT EXISTS ser_audit (
  id BIGSERIAL PRIMARY KEY, call_id TEXT NOT NULL REFERENCES ser_calls (call_id) ON DELETE CASCADE,
  ts TIMESTAMPTZ NOT NULL, actor TEXT NOT NULL, what TEXT NOT NULL, detail JSONB NOT NULL);
CREATE INDEX IF NOT EXISTS ser_audit_call ON ser_audit (call_id);
`;

/** Multi-row INSERT: `($1,$2),($3,$4)` for rows of `width` values. */
function placeholders(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${Array.from({ length: width }, (_, i) => `$${r * width + i + 1}`).join(', ')})`);
  return out.join(', ');
}

/** Rows per INSERT statement: PostgreSQL takes at most 65535 parameters. */
const CHUNK = 1000;

/**
 * PostgreSQL, for several ser-ari instances sharing one history (`history.store: postgres`,
 * `history.url`). Tables are prefixed `ser_` and created if missing; each batch is one transaction
 * of multi-row INSERTs. Each instance writes only its own calls (call ids are Asterisk channel ids,
 * unique per switch; `instance` tells the switches apart).
 */
export class PostgresStore implements HistoryStore {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  static async open(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined); // an idle client that dies is replaced; queries report their own errors
    try {
      // Several instances may start at once: serialise the schema creation.
      const c = await pool.connect();
      try {
        await c.query('SELECT pg_advisory_lock(7164212)');
        await c.query(SCHEMA);
        await c.query('SELECT pg_advisory_unlock(7164212)');
      } finally {
        c.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new SerError('HISTORY_UNAVAILABLE', `cannot open the history database ${redactUrlUserinfo(url)}: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresStore(pool);
  }

  async write(b: Batch): Promise<void> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const insert = async (sql: (ph: string) => string, width: number, rows: unknown[][]): Promise<void> => {
        for (let i = 0; i < rows.length; i += CHUNK) {
          const part = rows.slice(i, i + CHUNK);
          await c.query(sql(placeholders(part.length, width)), part.flat());
        }
      };
      await insert(
        (ph) => `INSERT INTO ser_calls (call_id, instance, channel_name, caller_number, caller_name, mode, phase, queue, context, started_at) VALUES ${ph} ON CONFLICT (call_id) DO NOTHING`,
        10,
        b.started.map((s) => [s.callId, s.instance, s.channelName, s.callerNumber, s.callerName, s.mode, s.phase, s.queue, s.context, s.startedAt]),
      );
      for (const p of b.patches) {
        const sets: string[] = [];
        const values: unknown[] = [];
        for (const [col, v] of [['phase', p.phase], ['queue', p.queue], ['agent', p.agent], ['dominant', p.dominant], ['peak_negativity', p.peakNegativity]] as const) {
          if (v === undefined) continue;
          values.push(v);
          sets.push(`${col} = $${values.length}`);
        }
        if (sets.length > 0) await c.query(`UPDATE ser_calls SET ${sets.join(', ')} WHERE call_id = $${values.length + 1}`, [...values, p.callId]);
      }
      await insert(
        (ph) => `INSERT INTO ser_timeline (call_id, t, speech, negativity, dominant, probs) VALUES ${ph}
                 ON CONFLICT (call_id, t) DO UPDATE SET speech = excluded.speech, negativity = excluded.negativity, dominant = excluded.dominant, probs = excluded.probs`,
        6,
        b.timeline.map((r) => [r.callId, r.t, r.speech, r.negativity, r.dominant, JSON.stringify(r.probs)]),
      );
      await insert((ph) => `INSERT INTO ser_alerts (call_id, ts, rule, state, message) VALUES ${ph}`, 5, b.alerts.map((a) => [a.callId, a.ts, a.rule, a.state, a.message]));
      await insert(
        (ph) => `INSERT INTO ser_actions (call_id, ts, action_id, rule, kind, params, outcome, reason, decided_by, due_at, shadow, evidence) VALUES ${ph}`,
        12,
        b.actions.map((a) => [a.callId, a.ts, a.actionId, a.rule, a.kind, JSON.stringify(a.params), a.outcome, a.reason, a.decidedBy, a.dueAt, a.shadow, JSON.stringify(a.evidence)]),
      );
      await insert((ph) => `INSERT INTO ser_audit (ts, call_id, actor, what, detail) VALUES ${ph}`, 5, b.audit.map((a) => [a.ts, a.callId, a.actor, a.what, JSON.stringify(a.detail)]));
      for (const e of b.ended) {
        const s = e.summary;
        await c.query(
          `UPDATE ser_calls SET ended_at = $1, end_reason = $2, duration_seconds = $3, dominant = COALESCE($4, dominant),
             peak_negativity = COALESCE($5, peak_negativity), actions_executed = $6, summary = $7 WHERE call_id = $8`,
          [e.endedAt, e.reason, s.durationSeconds, s.dominant, s.peakNegativity, s.actionsExecuted, JSON.stringify(s), e.callId],
        );
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async listCalls(q: CallQuery): Promise<CallRow[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const v = (x: unknown): string => (values.push(x), `$${values.length}`);
    if (q.state === 'live') where.push('ended_at IS NULL');
    if (q.state === 'ended') where.push('ended_at IS NOT NULL');
    if (q.from) where.push(`started_at >= ${v(q.from)}`);
    if (q.to) where.push(`started_at < ${v(q.to)}`);
    if (q.emotion?.length) where.push(`dominant = ANY(${v(q.emotion)})`);
    if (q.action?.length) {
      const any = q.action.map((a) => {
        const parts: string[] = [];
        if (a.kind) parts.push(`a.kind = ${v(a.kind)}`);
        if (a.outcome) parts.push(`a.outcome = ${v(a.outcome)}`);
        return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
      });
      where.push(`EXISTS (SELECT 1 FROM ser_actions a WHERE a.call_id = ser_calls.call_id AND (${any.join(' OR ')}))`);
    }
    const limit = v(Math.min(q.limit ?? 100, 10_000));
    const r = await this.#pool.query(`SELECT * FROM ser_calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC LIMIT ${limit}`, values);
    return r.rows.map(callRow);
  }

  async getCall(callId: string): Promise<StoredCall | null> {
    const call = await this.#pool.query('SELECT * FROM ser_calls WHERE call_id = $1', [callId]);
    if (call.rows.length === 0) return null;
    const [tl, al, ac, au] = await Promise.all([
      this.#pool.query('SELECT * FROM ser_timeline WHERE call_id = $1 ORDER BY t', [callId]),
      this.#pool.query('SELECT * FROM ser_alerts WHERE call_id = $1 ORDER BY ts, id', [callId]),
      this.#pool.query('SELECT * FROM ser_actions WHERE call_id = $1 ORDER BY ts, id', [callId]),
      this.#pool.query('SELECT * FROM ser_audit WHERE call_id = $1 ORDER BY ts, id', [callId]),
    ]);
    return {
      call: callRow(call.rows[0] as Row),
      timeline: tl.rows.map((r: Row): TimelineRow => ({ callId, t: Number(r.t), speech: Boolean(r.speech), negativity: Number(r.negativity), dominant: String(r.dominant), probs: r.probs as Record<string, number> })),
      alerts: al.rows.map((r: Row): AlertRow => ({ callId, ts: iso(r.ts)!, rule: String(r.rule), state: r.state as AlertRow['state'], message: String(r.message) })),
      actions: ac.rows.map(
        (r: Row): ActionRow => ({
          callId,
          ts: iso(r.ts)!,
          actionId: String(r.action_id),
          rule: String(r.rule),
          kind: r.kind as ActionRow['kind'],
          params: r.params as Record<string, unknown>,
          outcome: r.outcome as ActionRow['outcome'],
          reason: (r.reason as string | null) ?? null,
          decidedBy: String(r.decided_by),
          dueAt: iso(r.due_at),
          shadow: Boolean(r.shadow),
          evidence: r.evidence as ActionRow['evidence'],
        }),
      ),
      audit: au.rows.map((r: Row): AuditRow => ({ callId, ts: iso(r.ts)!, actor: String(r.actor), what: String(r.what), detail: r.detail as Record<string, unknown> })),
    };
  }

  async endOrphans(instance: string, reason: string, at: string): Promise<number> {
    const r = await this.#pool.query('UPDATE ser_calls SET ended_at = $1, end_reason = $2 WHERE instance = $3 AND ended_at IS NULL', [at, reason, instance]);
    return r.rowCount ?? 0;
  }

  async purge(before: string): Promise<number> {
    const r = await this.#pool.query('DELETE FROM ser_calls WHERE started_at < $1', [before]); // children cascade
    return r.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

type Row = Record<string, unknown>;

function iso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString();
}

function callRow(r: Row): CallRow {
  return callRowFrom(r, { time: iso, summary: (v) => (v as CallSummary | null | undefined) ?? null });
}

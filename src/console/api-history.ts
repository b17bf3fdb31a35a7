import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVENT_SCHEMA_VERSION } from '../events/types.js';
import type { ActionRow, CallQuery, CallRow, HistoryRecorder, StoredCall } from '../history/index.js';
import type { PbxResult } from '../pbx/types.js';
import { ACTION_KINDS as ACTION_KIND_LIST } from '../policy/action-schema.js';
import { actorOf } from './auth.js';
import { sendError, sendJson } from './http.js';

/**
 * The history and supervisor routes of /api (issue 16), kept apart from api.ts: call history from the
 * database, its export, the rules as readable text, and listen-in.
 */

/** Listen-in through the PBX: rings `endpoint` and bridges it to a snoop on the caller. */
export type ListenFn = (callId: string, endpoint: string, spy: 'in' | 'both') => Promise<PbxResult>;

/** A rule as the console shows it: readable text, with the rule syntax for a hover. */
export interface RuleInfo {
  name: string;
  alert: string;
  /** e.g. "Anger/disgust above 75% and negativity above 85% for 20 s while speaking". */
  readable: string;
  /** The condition as written in the rules file, e.g. "ANG+DIS >= 0.75 (clears < 0.25) and ... for 20s". */
  syntax: string;
  /** 3 hangs up, 2 moves the caller, 1 anything else: how urgent its alert is. */
  severity: number;
  shadow: boolean;
}

export interface HistoryDeps {
  records: HistoryRecorder | null;
  listen: ListenFn | null;
  supervisors: readonly string[];
  rules: readonly RuleInfo[];
}

/** Query parameters that make GET /api/calls a history query (answered from the database). */
export const HISTORY_PARAMS = ['state', 'from', 'to', 'emotion', 'action', 'limit'] as const;

export function isHistoryQuery(url: URL): boolean {
  return HISTORY_PARAMS.some((p) => url.searchParams.has(p));
}

const ACTION_KINDS = new Set<string>(ACTION_KIND_LIST);
const OUTCOMES = new Set(['proposed', 'suppressed', 'shadow', 'pending', 'executed', 'cancelled', 'failed']);

/** The history filters of a request, or the name of the bad parameter and why. */
export function parseHistoryQuery(url: URL): CallQuery | { key: string; message: string } {
  const q: CallQuery = {};
  const p = url.searchParams;
  const list = (k: string): string[] => p.getAll(k).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const state = p.get('state');
  if (state !== null) {
    if (state !== 'live' && state !== 'ended') return { key: 'state', message: '"state": live or ended' };
    q.state = state;
  }
  for (const k of ['from', 'to'] as const) {
    const v = p.get(k);
    if (v === null) continue;
    const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
    if (!Number.isFinite(ms)) return { key: k, message: `"${k}": an ISO 8601 time (2026-05-01T10:00:00Z) or Unix seconds` };
    q[k] = new Date(ms).toISOString();
  }
  const emotion = list('emotion');
  if (emotion.length) {
    if (emotion.some((e) => !/^[A-Za-z]{1,16}$/.test(e))) return { key: 'emotion', message: '"emotion": labels such as ANG,SAD' };
    q.emotion = emotion.map((e) => e.toUpperCase());
  }
  const action = list('action');
  if (action.length) {
    q.action = [];
    for (const a of action) {
      const [kind, outcome] = a.split(':') as [string, string | undefined];
      if ((kind !== '*' && !ACTION_KINDS.has(kind)) || (outcome !== undefined && !OUTCOMES.has(outcome))) {
        return { key: 'action', message: `"action": a kind (${[...ACTION_KINDS].join(', ')}), optionally with an outcome (hangup:cancelled, *:suppressed)` };
      }
      q.action.push({ kind: kind === '*' ? null : kind, outcome: outcome ?? null });
    }
  }
  const limit = p.get('limit');
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) return { key: 'limit', message: '"limit": 1 to 10000' };
    q.limit = n;
  }
  return q;
}

function noHistory(res: ServerResponse): void {
  sendError(res, 503, 'HISTORY_UNAVAILABLE', 'no call history is kept (history.store: none)');
}

/** GET /api/calls?state=&from=&to=&emotion=&action=&limit= */
export async function listHistory(deps: HistoryDeps, res: ServerResponse, url: URL): Promise<void> {
  if (!deps.records) return noHistory(res);
  const q = parseHistoryQuery(url);
  if ('key' in q) return sendError(res, 400, 'BAD_REQUEST', q.message, { key: q.key });
  await deps.records.flush(); // what happened up to now is in the answer
  sendJson(res, 200, { calls: await deps.records.store.listCalls(q) });
}

/** An ended (or any stored) call, as GET /api/calls/:id answers for it: its row and its whole history. */
export async function storedCall(deps: HistoryDeps, res: ServerResponse, callId: string): Promise<boolean> {
  if (!deps.records) return false;
  await deps.records.flush();
  const stored = await deps.records.store.getCall(callId);
  if (!stored) return false;
  sendJson(res, 200, storedCallBody(stored));
  return true;
}

/**
 * The stored call as the API answers it. Alerts and actions are given back as the events they were
 * (docs/events.schema.json `alert`, `action`: same fields, same `version`), actions with `decidedBy`.
 */
function storedCallBody(s: StoredCall): unknown {
  return {
    call: s.call,
    history: {
      timeline: s.timeline.map((p) => ({ ts: new Date(p.t * 1000).toISOString(), speech: p.speech, negativity: p.negativity, probs: p.probs })),
      alerts: s.alerts.map((a) => ({ type: 'alert', version: EVENT_SCHEMA_VERSION, callId: a.callId, ts: a.ts, state: a.state, rule: a.rule, message: a.message })),
      actions: s.actions.map(actionEventOf),
      audit: s.audit,
    },
  };
}

function actionEventOf(a: ActionRow): unknown {
  return { type: 'action', version: EVENT_SCHEMA_VERSION, callId: a.callId, ts: a.ts, actionId: a.actionId, rule: a.rule, kind: a.kind, params: a.params, outcome: a.outcome, reason: a.reason, dueAt: a.dueAt, shadow: a.shadow, evidence: a.evidence, decidedBy: a.decidedBy };
}

/** The CSV export's columns, in order (its header row): the history row without `context` and `summary`. */
export const CSV_COLUMNS: readonly (keyof CallRow)[] = [
  'callId', 'instance', 'state', 'startedAt', 'endedAt', 'durationSeconds', 'callerNumber', 'callerName', 'channelName', 'mode', 'phase', 'queue', 'agent', 'dominant', 'peakNegativity', 'actionsExecuted', 'endReason',
];

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  // A cell starting with = + - @ is a formula to spreadsheet programs: quote it as text.
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * GET /api/export/calls?format=csv|json&<the history filters>: CSV, one row per call with its summary
 * and the number of alerts/actions; JSON lines, one call per line with its timeline, alerts, actions
 * (with evidence and who decided) and audit.
 */
export async function exportCalls(deps: HistoryDeps, res: ServerResponse, url: URL): Promise<void> {
  if (!deps.records) return noHistory(res);
  const format = url.searchParams.get('format') ?? 'csv';
  if (format !== 'csv' && format !== 'json') return sendError(res, 400, 'BAD_REQUEST', '"format": csv or json', { key: 'format' });
  const q = parseHistoryQuery(url);
  if ('key' in q) return sendError(res, 400, 'BAD_REQUEST', q.message, { key: q.key });
  await deps.records.flush();
  const calls = await deps.records.store.listCalls({ limit: 10_000, ...q });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (format === 'csv') {
    res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="ser-calls-${stamp}.csv"` });
    res.write(`${CSV_COLUMNS.join(',')}\r\n`);
    for (const c of calls) res.write(`${CSV_COLUMNS.map((k) => csvCell(c[k])).join(',')}\r\n`);
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="ser-calls-${stamp}.jsonl"` });
  for (const c of calls) {
    const s = await deps.records.store.getCall(c.callId);
    if (s && !res.write(`${JSON.stringify(storedCallBody(s))}\n`)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

/** GET /api/rules: the rules with readable alert text (the console shows it, with the syntax on hover). */
export function listRules(deps: HistoryDeps, res: ServerResponse): void {
  sendJson(res, 200, { rules: deps.rules });
}

/** GET /api/supervisors: the endpoints a supervisor may listen in from (targets.supervisors). */
export function listSupervisors(deps: HistoryDeps, res: ServerResponse): void {
  sendJson(res, 200, { supervisors: deps.supervisors });
}

/**
 * POST /api/calls/:id/listen {"supervisor": "PJSIP/2001", "spy": "in" | "both", "by"?}: rings the
 * supervisor's endpoint (it must be listed in targets.supervisors) and bridges it to a snoop on the
 * caller: `in` hears the caller only, `both` the whole conversation. Audited with who asked.
 */
export async function listenIn(deps: HistoryDeps, req: IncomingMessage, res: ServerResponse, callId: string, body: unknown): Promise<void> {
  if (!deps.listen) return sendError(res, 503, 'LISTEN_UNAVAILABLE', 'this PBX connection cannot listen in');
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) return sendError(res, 400, 'BAD_REQUEST', 'the body must be a JSON object: {"supervisor":"PJSIP/2001","spy":"in"}');
  const unknown = Object.keys(b).find((k) => !['supervisor', 'spy', 'by'].includes(k));
  if (unknown) return sendError(res, 400, 'BAD_REQUEST', `unknown key "${unknown}"`, { key: unknown });
  const supervisor = b.supervisor;
  if (typeof supervisor !== 'string') return sendError(res, 400, 'BAD_REQUEST', '"supervisor": an endpoint from targets.supervisors', { key: 'supervisor' });
  if (!deps.supervisors.includes(supervisor)) {
    return sendError(res, 403, 'TARGET_NOT_ALLOWED', `${supervisor} is not listed in targets.supervisors`, { key: 'supervisor' });
  }
  const spy = b.spy ?? 'in';
  if (spy !== 'in' && spy !== 'both') return sendError(res, 400, 'BAD_REQUEST', '"spy": in (the caller) or both (caller and agent)', { key: 'spy' });
  const by = b.by;
  if (by !== undefined && (typeof by !== 'string' || by.length < 1 || by.length > 64)) return sendError(res, 400, 'BAD_REQUEST', '"by": a name of 1 to 64 characters', { key: 'by' });
  const who = actorOf(req) ?? (by as string | undefined) ?? 'api';
  const result = await deps.listen(callId, supervisor, spy);
  deps.records?.audit({ callId, actor: who, what: 'listen', detail: { supervisor, spy, ok: result.ok, ...(result.error ? { error: result.error } : {}) } });
  if (result.ok) return sendJson(res, 200, { ok: true, supervisor, spy, by: who });
  if (result.status === 404) return sendError(res, 404, 'UNKNOWN_CALL', `no live call ${callId}`);
  sendJson(res, 502, { ok: false, error: { code: 'PBX_REFUSED', message: result.error ?? 'the PBX refused', status: result.status ?? null } });
}

import type { ActionKind, ActionOutcome, CallMode, CallSummary, EvidencePoint } from '../events/types.js';

/**
 * Call history and audit, kept in a database (SQLite by default, PostgreSQL for several instances
 * sharing one history). The recorder (recorder.ts) turns bus events into a Batch and writes it
 * through this interface once per flush interval; the console reads through it.
 *
 *   calls     one row per call: who, where, when, how it ended, summary (dominant, peak negativity)
 *   timeline  one row per call and second: smoothed probabilities, negativity, speech
 *   alerts    every alert raised / cleared
 *   actions   every step of every action, with its evidence and who decided (rule or supervisor)
 *   audit     supervisor commands that are not actions (listen-in)
 */
/** A call's row as written when it starts. */
export type CallStart = Pick<CallRow, 'callId' | 'instance' | 'channelName' | 'callerNumber' | 'callerName' | 'mode' | 'phase' | 'queue' | 'context' | 'startedAt'>;

/** A change of a live call's row: its phase, or its running dominant emotion and peak. */
export interface CallPatch {
  callId: string;
  phase?: string;
  queue?: string | null;
  agent?: string | null;
  dominant?: string | null;
  peakNegativity?: number | null;
}

export interface CallEnd {
  callId: string;
  endedAt: string;
  reason: string;
  summary: CallSummary;
}

export interface TimelineRow {
  callId: string;
  /** Unix time, whole seconds: one row per call and second. */
  t: number;
  speech: boolean;
  negativity: number;
  dominant: string;
  probs: Record<string, number>;
}

export interface AlertRow {
  callId: string;
  ts: string;
  rule: string;
  state: 'raised' | 'cleared';
  message: string;
}

export interface ActionRow {
  callId: string;
  ts: string;
  actionId: string;
  rule: string;
  kind: ActionKind;
  params: Record<string, unknown>;
  outcome: ActionOutcome;
  reason: string | null;
  /** `rule:<name>` for the rule engine, `system` for its own cancellations, else the supervisor's name. */
  decidedBy: string;
  dueAt: string | null;
  shadow: boolean;
  evidence: EvidencePoint[];
}

export interface AuditRow {
  ts: string;
  callId: string;
  actor: string;
  what: string;
  detail: Record<string, unknown>;
}

/** What one flush writes, in one transaction. */
export interface Batch {
  started: CallStart[];
  patches: CallPatch[];
  ended: CallEnd[];
  timeline: TimelineRow[];
  alerts: AlertRow[];
  actions: ActionRow[];
  audit: AuditRow[];
}

export function emptyBatch(): Batch {
  return { started: [], patches: [], ended: [], timeline: [], alerts: [], actions: [], audit: [] };
}

export function batchSize(b: Batch): number {
  return b.started.length + b.patches.length + b.ended.length + b.timeline.length + b.alerts.length + b.actions.length + b.audit.length;
}

export interface CallRow {
  callId: string;
  instance: string;
  state: 'live' | 'ended';
  channelName: string;
  callerNumber: string | null;
  callerName: string | null;
  mode: CallMode;
  phase: string;
  queue: string | null;
  context: string | null;
  agent: string | null;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  durationSeconds: number | null;
  /** Label with the highest mean over the classified seconds (running while live). */
  dominant: string | null;
  peakNegativity: number | null;
  actionsExecuted: number;
  summary: CallSummary | null;
}

export interface StoredCall {
  call: CallRow;
  timeline: TimelineRow[];
  alerts: AlertRow[];
  actions: ActionRow[];
  audit: AuditRow[];
}

export interface CallQuery {
  state?: 'live' | 'ended';
  /** ISO times: calls that started in [from, to). */
  from?: string;
  to?: string;
  /** Dominant emotion is one of these labels. */
  emotion?: string[];
  /** Had an action of one of these kinds (`hangup`), optionally with an outcome (`hangup:cancelled`, `*:suppressed`). */
  action?: { kind: string | null; outcome: string | null }[];
  limit?: number;
}

export interface HistoryStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Writes one batch atomically. */
  write(batch: Batch): Promise<void>;
  /** Newest first. */
  listCalls(q: CallQuery): Promise<CallRow[]>;
  getCall(callId: string): Promise<StoredCall | null>;
  /** Calls of `instance` still marked live (it stopped without ending them): ended now with `reason`. */
  endOrphans(instance: string, reason: string, at: string): Promise<number>;
  /** Deletes calls that started before `before`, with everything about them. Returns the number of calls. */
  purge(before: string): Promise<number>;
  close(): Promise<void>;
}

/** Who decided an action step: the supervisor named in `forced by X` / `cancelled by X`, else the rule. */
export function decidedBy(rule: string, outcome: ActionOutcome, reason: string | null): string {
  const m = reason === null ? null : /^(?:forced|cancelled) by (.+?)(?::\s|$)/.exec(reason);
  if (m) return m[1]!;
  if (outcome === 'cancelled') return 'system';
  return rule === 'forced' ? 'api' : `rule:${rule}`;
}

/** How one database returns the columns whose type it keeps its own way. */
export interface ColumnReaders {
  time(v: unknown): string | null;
  summary(v: unknown): CallSummary | null;
}

/** A row of the calls table (snake_case columns) as a CallRow. */
export function callRowFrom(r: Record<string, unknown>, read: ColumnReaders): CallRow {
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    callId: String(r.call_id),
    instance: String(r.instance),
    state: r.ended_at === null ? 'live' : 'ended',
    channelName: String(r.channel_name),
    callerNumber: str(r.caller_number),
    callerName: str(r.caller_name),
    mode: r.mode as CallRow['mode'],
    phase: String(r.phase),
    queue: str(r.queue),
    context: str(r.context),
    agent: str(r.agent),
    startedAt: read.time(r.started_at)!,
    endedAt: read.time(r.ended_at),
    endReason: str(r.end_reason),
    durationSeconds: num(r.duration_seconds),
    dominant: str(r.dominant),
    peakNegativity: num(r.peak_negativity),
    actionsExecuted: Number(r.actions_executed ?? 0),
    summary: read.summary(r.summary),
  };
}

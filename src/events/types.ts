/**
 * The product's event stream: what the console, the WebSocket/SSE consumers and the logs see.
 * Every event has `type`, `version`, `ts` (ISO time) and `callId` (the caller channel's id).
 * Changing a field is a schema change: bump EVENT_SCHEMA_VERSION and update docs/events.md and
 * docs/events.schema.json together.
 */
import type { ActionKind } from '../policy/action-schema.js';

export const EVENT_SCHEMA_VERSION = 2;

export type CallMode = 'monitor' | 'decide' | 'queue' | 'demo';
/** Where the caller is: the automated menu, waiting in a queue, or talking to an agent. */
export type CallPhase = 'ivr' | 'queued' | 'agent';

interface EventBase {
  version: typeof EVENT_SCHEMA_VERSION;
  ts: string;
  callId: string;
}

export interface CallStartedEvent extends EventBase {
  type: 'call.started';
  channelName: string;
  callerNumber: string | null;
  callerName: string | null;
  mode: CallMode;
  phase: CallPhase;
  queue: string | null;
  context: string | null;
}

export interface CallSummary {
  durationSeconds: number;
  windows: number;
  classified: number;
  /** Mean of the classified windows' probabilities, keyed by label; null when nothing had speech. */
  meanProbs: Record<string, number> | null;
  dominant: string | null;
  peakNegativity: number | null;
  actionsExecuted: number;
  rtp: { packets: number; lost: number; late: number; duplicate: number; foreignSource: number; badPayloadType: number; malformed: number } | null;
}

export interface CallEndedEvent extends EventBase {
  type: 'call.ended';
  reason: string;
  summary: CallSummary;
}

export interface PhaseEvent extends EventBase {
  type: 'call.phase';
  phase: CallPhase;
  queue: string | null;
  agent: string | null;
}

export type TapState = 'tapped' | 'retrying' | 'untapped' | 'released';

export interface TapEvent extends EventBase {
  type: 'tap';
  state: TapState;
  /** Why a tap is retried or missing (no RTP, port pool exhausted, ARI error...). */
  reason: string | null;
  attempt: number;
}

export interface EmotionEvent extends EventBase {
  type: 'emotion';
  seq: number;
  /** Window position in the tapped audio, seconds. */
  start: number;
  end: number;
  speech: boolean;
  speechRatio: number;
  loudnessDbfs: number;
  /** Smoothed probabilities keyed by label (ANG DIS FEA HAP NEU SAD). */
  probs: Record<string, number>;
  dominant: string;
  confidence: number;
  negativity: number;
  arousal: number;
  /** Smoothed probabilities relative to this caller's own baseline (version 2). */
  adjusted: Record<string, number>;
  adjustedNegativity: number;
  /** Speech windows in the caller's baseline so far (version 2). */
  baselineWindows: number;
  /** Mean negativity of those windows; null before the first (version 2). */
  baselineNegativity: number | null;
  /** 0..1, how familiar the voice/line is to the model; null until enough speech (version 2). */
  familiarity: number | null;
  latencyMs: number;
}

export interface AlertEvent extends EventBase {
  type: 'alert';
  state: 'raised' | 'cleared';
  rule: string;
  message: string;
}

/** Every action kind (src/policy/action-schema.ts ACTION_KINDS). */
export type { ActionKind };
export type ActionOutcome = 'proposed' | 'suppressed' | 'shadow' | 'pending' | 'executed' | 'cancelled' | 'failed';

/** One second of the scores that made a rule fire: the audit trail of an automated decision. */
export interface EvidencePoint {
  t: number;
  probs: Record<string, number>;
  negativity: number;
  loudnessDbfs: number;
  speechRatio: number;
}

export interface ActionEvent extends EventBase {
  type: 'action';
  actionId: string;
  rule: string;
  kind: ActionKind;
  /** The action's parameters as configured (e.g. { add: 5 } or { queue: "support" }). */
  params: Record<string, unknown>;
  outcome: ActionOutcome;
  /** Why it was suppressed, cancelled or failed; who cancelled or forced it. */
  reason: string | null;
  /** When a pending action (warn-before-hangup) will execute, ISO time. */
  dueAt: string | null;
  shadow: boolean;
  evidence: EvidencePoint[];
}

export interface QueuePositionEvent extends EventBase {
  type: 'queue.position';
  queue: string;
  position: number;
  priority: number;
  waiting: number;
}

export type SerEvent =
  | CallStartedEvent
  | CallEndedEvent
  | PhaseEvent
  | TapEvent
  | EmotionEvent
  | AlertEvent
  | ActionEvent
  | QueuePositionEvent;

export type SerEventType = SerEvent['type'];

/** What a producer supplies; the bus adds `version` and `ts`. */
export type SerEventInput = SerEvent extends infer E ? (E extends SerEvent ? Omit<E, 'version' | 'ts'> : never) : never;

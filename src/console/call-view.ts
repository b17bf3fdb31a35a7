import type { CallRecord, CallRegistry } from '../calls/registry.js';
import type { EmotionEvent, CallMode, CallPhase } from '../events/types.js';
import type { ActionControl, PendingAction } from '../policy/control.js';
import type { ActiveAlert, CallHistory } from './history.js';

/** A live call as the API and the hello snapshot show it (docs/events.schema.json#/$defs/callSnapshot). */
export interface CallSnapshot {
  callId: string;
  channelName: string;
  callerNumber: string | null;
  callerName: string | null;
  mode: CallMode;
  phase: CallPhase;
  queue: string | null;
  context: string | null;
  agent: string | null;
  startedAt: string;
  inStasis: boolean;
  tapped: boolean;
  priority: number | null;
  lastEmotion: EmotionEvent | null;
  pending: PendingAction[];
  alerts: ActiveAlert[];
}

export interface CallViews {
  registry: CallRegistry;
  actions: ActionControl | null;
  history: CallHistory;
}

export function callSnapshot(views: CallViews, call: CallRecord, pending?: PendingAction[]): CallSnapshot {
  return {
    callId: call.callId,
    channelName: call.channelName,
    callerNumber: call.callerNumber,
    callerName: call.callerName,
    mode: call.mode,
    phase: call.phase,
    queue: call.queue,
    context: call.context,
    agent: call.agent,
    startedAt: call.startedAt.toISOString(),
    inStasis: call.inStasis,
    tapped: call.tapped,
    priority: call.priority,
    lastEmotion: call.lastEmotion,
    pending: pending ?? views.actions?.pending(call.callId) ?? [],
    alerts: views.history.activeAlerts(call.callId),
  };
}

/** Every live call (optionally only those `include` accepts), with one pending() query for all of them. */
export function callSnapshots(views: CallViews, include: (call: CallRecord) => boolean = () => true): CallSnapshot[] {
  const byCall = new Map<string, PendingAction[]>();
  for (const p of views.actions?.pending() ?? []) {
    let list = byCall.get(p.callId);
    if (!list) byCall.set(p.callId, (list = []));
    list.push(p);
  }
  return views.registry
    .list()
    .filter(include)
    .map((c) => callSnapshot(views, c, byCall.get(c.callId) ?? []));
}

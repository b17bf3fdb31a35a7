import type { CallRecord, CallRegistry } from '../calls/registry.js';
import type { ActionControl, PendingAction } from '../policy/control.js';
import type { ActiveAlert, CallHistory } from './history.js';

/** A live call as the API and the hello snapshot show it (docs/events.schema.json#/$defs/callSnapshot). */
export type CallSnapshot = Omit<CallRecord, 'startedAt'> & {
  startedAt: string;
  pending: PendingAction[];
  alerts: ActiveAlert[];
};

export interface CallViews {
  registry: CallRegistry;
  actions: ActionControl | null;
  history: CallHistory;
}

export function callSnapshot(views: CallViews, call: CallRecord, pending?: PendingAction[]): CallSnapshot {
  return {
    ...call,
    startedAt: call.startedAt.toISOString(),
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

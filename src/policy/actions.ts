import type { ActionKind } from '../events/types.js';
import type { CallControl, PbxResult } from '../pbx/types.js';
import { flatParams, type ActionSpec } from './action-schema.js';

/** The parameters of an action as they appear in its event, e.g. { add: 5 } or { queue: "support" }. */
export function paramsOf(spec: ActionSpec): Record<string, unknown> {
  return flatParams(spec);
}

export function kindOf(spec: ActionSpec): ActionKind {
  return spec.kind;
}

/** One line for logs: "priority +5", "transfer to queue support", "hangup (normal)". */
export function describeAction(spec: ActionSpec): string {
  switch (spec.kind) {
    case 'priority':
      return spec.set !== undefined ? `set priority ${spec.set}` : `priority ${(spec.add ?? 0) >= 0 ? '+' : ''}${spec.add ?? 0}`;
    case 'setVars':
      return `set ${Object.entries(spec.vars).map(([k, v]) => `${k}=${v}`).join(' ')}`;
    case 'transfer': {
      const t = spec.target;
      if ('queue' in t) return `transfer to queue ${t.queue}`;
      if ('agent' in t) return `transfer to agent ${t.agent}`;
      return `transfer to ${t.context},${t.extension},${t.priority ?? 1}`;
    }
    case 'play':
      return `play ${spec.media}`;
    case 'hangup':
      return spec.warn ? `warn (${spec.warn.media}), then hang up (${spec.cause}) after ${spec.warn.graceSeconds}s` : `hang up (${spec.cause})`;
  }
}

/**
 * Asks the PBX to carry the action out now. A hang-up's warning is the engine's business: here a
 * hangup is the hang-up itself. Never throws: a throwing CallControl is reported as a failure.
 */
export async function perform(control: CallControl, callId: string, spec: ActionSpec): Promise<PbxResult> {
  try {
    switch (spec.kind) {
      case 'priority':
        return await control.setPriority(callId, spec.set !== undefined ? { set: spec.set } : { add: spec.add ?? 0 });
      case 'setVars':
        return await control.setVariables(callId, spec.vars);
      case 'transfer':
        return await control.transfer(callId, spec.target);
      case 'play':
        return await control.play(callId, spec.media);
      case 'hangup':
        return await control.hangup(callId, spec.cause);
    }
  } catch (err) {
    return { ok: false, error: `CallControl threw: ${(err as Error).message}` };
  }
}

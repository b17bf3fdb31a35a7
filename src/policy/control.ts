import type { EvidencePoint } from '../events/types.js';
import type { PbxResult } from '../pbx/types.js';
import type { ActionSpec } from './action-schema.js';

/** What a rule (or a supervisor forcing an action) asks the PBX to do: action-schema.ts validates it. */
export type { ActionSpec };

/** An action waiting to execute (e.g. a hang-up in its grace period after the warning). */
export interface PendingAction {
  actionId: string;
  callId: string;
  rule: string;
  action: ActionSpec;
  /**
   * ISO time at which it executes unless cancelled or its condition clears; null while a hang-up's
   * warning is still playing (its grace period starts once Asterisk confirms the warning played).
   */
  dueAt: string | null;
  evidence: EvidencePoint[];
}

/**
 * What the console (and any external system, through the same authenticated API) may do to the
 * policy's decisions. Implemented by the rule engine.
 */
export interface ActionControl {
  pending(callId?: string): PendingAction[];
  /** True when the action was pending and is now cancelled (it will not execute); false otherwise. */
  cancel(actionId: string, by: string): boolean;
  /** Executes an action on a call now, bypassing rule conditions but not auditing: it is an event like any other. */
  force(callId: string, action: ActionSpec, by: string): Promise<PbxResult>;
}

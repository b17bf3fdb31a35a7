import type { Channel } from 'ari-client';
import type { Logger } from 'pino';
import type { Call } from '../calls/lifecycle.js';
import type { CallMode } from '../events/types.js';
import type { Tap } from './tap.js';

/** An agent we originated and bridged with the caller (transfer to an agent). */
export interface AgentLeg {
  agentId: string;
  bridgeId: string;
  endpoint: string;
}

/** A supervisor listening in: a snoop on the caller bridged with the supervisor's channel. */
export interface ListenLeg {
  snoopId: string;
  supervisorId: string;
  bridgeId: string;
  endpoint: string;
}

/**
 * The ARI side of one live call: what exists on Asterisk for it and where the caller is. The call
 * itself (record, verdict, end) is the PBX-neutral `Call` it belongs to.
 */
export class CallSession {
  readonly callId: string;
  readonly call: Call;
  channel: Channel;
  mode: CallMode;
  inStasis = true;
  /** Set just before we continue the caller, so its StasisEnd is not taken for a hang-up. */
  expectingStasisEnd = false;
  tap: Tap | null = null;
  agentTap: Tap | null = null;
  agent: AgentLeg | null = null;
  /** Supervisors listening in (snoop + supervisor channel + bridge each), released when the call ends. */
  listeners: ListenLeg[] = [];
  /** Variables asked for while the caller was outside Stasis, written at its next Stasis(ser,decide). */
  pendingVars: Record<string, string> = {};
  /** A dialplan transfer asked for while the caller was in the menu outside Stasis: done at its next decision point. */
  pendingTransfer: { context: string; extension: string; priority?: number } | null = null;
  /** The tap builder/health loop of this call, awaited before tear-down. */
  tapping: Promise<void> | null = null;

  constructor(channel: Channel, mode: CallMode, call: Call) {
    this.callId = channel.id;
    this.channel = channel;
    this.mode = mode;
    this.call = call;
  }

  get log(): Logger {
    return this.call.log;
  }

  get ended(): boolean {
    return this.call.ended;
  }

  /** Aborted when the call ends: waits for its playbacks and taps stop. */
  get abort(): AbortController {
    return this.call.abort;
  }

  get tapAttempts(): number {
    return this.call.tapAttempts;
  }

  set tapAttempts(n: number) {
    this.call.tapAttempts = n;
  }

  /** Ids of everything that should exist on Asterisk for this call (for reconcile). */
  objects(): string[] {
    const ids: string[] = [];
    for (const t of [this.tap, this.agentTap]) if (t) ids.push(t.snoopId, t.emId, t.bridgeId);
    if (this.agent) ids.push(this.agent.agentId, this.agent.bridgeId);
    for (const l of this.listeners) ids.push(l.snoopId, l.supervisorId, l.bridgeId);
    return ids;
  }
}

export type AgentState = 'idle' | 'ringing' | 'busy' | 'offline';

/** Why a ring ended without a conversation; decides how long the agent rests before the next ring. */
export type RingFailure = 'no-answer' | 'busy' | 'failed' | 'cancelled';

export interface AgentSnapshot {
  endpoint: string;
  state: AgentState;
  /** When the agent last became free (ms clock); the longest-idle agent is rung first. */
  idleSince: number;
  /** No ring before this time (retry pause after a failed ring). */
  availableAt: number;
  reachable: boolean;
}

interface Agent {
  endpoint: string;
  activity: 'idle' | 'ringing' | 'busy';
  reachable: boolean;
  idleSince: number;
  availableAt: number;
  order: number;
}

/**
 * The agents of one queue and what the queue knows about them. Pure: the caller supplies the clock.
 *
 * Two things decide whether an agent can be rung: the switch's view (`reachable`, from ARI endpoint
 * state: an unregistered PJSIP endpoint is `offline`) and the queue's own tracking (ringing or busy
 * with one of our callers, or resting after a failed ring). An agent that does not answer or is busy
 * goes to the back of the line and rests `retryMs`, so the next agent is tried first.
 */
export class AgentPool {
  readonly #agents = new Map<string, Agent>();
  readonly #retryMs: number;

  constructor(endpoints: readonly string[], opts: { now: number; retryMs: number }) {
    this.#retryMs = opts.retryMs;
    endpoints.forEach((endpoint, order) => {
      this.#agents.set(endpoint, { endpoint, activity: 'idle', reachable: true, idleSince: opts.now, availableAt: 0, order });
    });
  }

  has(endpoint: string): boolean {
    return this.#agents.has(endpoint);
  }

  state(endpoint: string): AgentState | undefined {
    const a = this.#agents.get(endpoint);
    return a ? stateOf(a) : undefined;
  }

  /** From ARI endpoint state: `offline` makes the agent unreachable; `online` and `unknown` do not. */
  setReachable(endpoint: string, reachable: boolean): boolean {
    const a = this.#agents.get(endpoint);
    if (!a || a.reachable === reachable) return false;
    a.reachable = reachable;
    return true;
  }

  /** The agent to ring next: reachable, idle, rested, idle the longest (config order breaks ties). */
  pick(now: number): string | undefined {
    let best: Agent | undefined;
    for (const a of this.#agents.values()) {
      if (a.activity !== 'idle' || !a.reachable || a.availableAt > now) continue;
      if (!best || a.idleSince < best.idleSince || (a.idleSince === best.idleSince && a.order < best.order)) best = a;
    }
    return best?.endpoint;
  }

  /** The earliest time a resting agent becomes ringable, or undefined when none is resting. */
  nextRestEnd(now: number): number | undefined {
    let at: number | undefined;
    for (const a of this.#agents.values()) {
      if (a.activity === 'idle' && a.reachable && a.availableAt > now && (at === undefined || a.availableAt < at)) at = a.availableAt;
    }
    return at;
  }

  ringing(endpoint: string): void {
    this.#require(endpoint, 'idle').activity = 'ringing';
  }

  answered(endpoint: string): void {
    this.#require(endpoint, 'ringing').activity = 'busy';
  }

  /** A ring ended without a conversation. A cancelled ring (our caller left) costs the agent nothing. */
  ringFailed(endpoint: string, why: RingFailure, now: number): void {
    const a = this.#agents.get(endpoint);
    if (!a || a.activity === 'idle') return;
    a.activity = 'idle';
    if (why === 'cancelled') return;
    a.idleSince = now;
    a.availableAt = now + this.#retryMs;
  }

  /** The conversation (or the answered leg) ended: the agent is free and starts a new idle period. */
  release(endpoint: string, now: number): void {
    const a = this.#agents.get(endpoint);
    if (!a || a.activity === 'idle') return;
    a.activity = 'idle';
    a.idleSince = now;
    a.availableAt = now;
  }

  snapshot(): AgentSnapshot[] {
    return [...this.#agents.values()].map((a) => ({
      endpoint: a.endpoint,
      state: stateOf(a),
      idleSince: a.idleSince,
      availableAt: a.availableAt,
      reachable: a.reachable,
    }));
  }

  #require(endpoint: string, activity: Agent['activity']): Agent {
    const a = this.#agents.get(endpoint);
    if (!a) throw new Error(`unknown agent [endpoint:${endpoint}]`);
    if (a.activity !== activity) throw new Error(`agent is ${a.activity}, expected ${activity} [endpoint:${endpoint}]`);
    return a;
  }
}

function stateOf(a: Agent): AgentState {
  if (a.activity !== 'idle') return a.activity;
  return a.reachable ? 'idle' : 'offline';
}

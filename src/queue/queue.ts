import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallRegistry } from '../calls/registry.js';
import type { EventBus } from '../events/bus.js';
import type { PbxResult, PriorityChange } from '../pbx/types.js';
import { AgentPool, type AgentSnapshot, type RingFailure } from './agents.js';
import type { QueueAri, QueueAriEvent } from './port.js';
import { WaitingList, type WaitingEntry } from './order.js';

export interface QueueSettings {
  name: string;
  agents: string[];
  ringTimeoutSeconds: number;
  retrySeconds: number;
  moh: string;
  maxWaitSeconds: number | null;
}

export interface PriorityQueueDeps {
  ari: QueueAri;
  registry: CallRegistry;
  bus: EventBus;
  logger: Logger;
  now?: () => number;
  /**
   * The ARI app's set of our objects that should exist (AriApp.live): agent legs and queue bridges are
   * kept in it while they exist, so the app's StasisStart and reconcile never take them for orphans.
   */
  live?: () => Set<string> | undefined;
  /**
   * How a caller goes back to the dialplan. The ARI app's continueCall, so that it expects the
   * StasisEnd and keeps the call (and its tap) instead of taking it for a hang-up; raw ARI otherwise.
   */
  continueCall?: (callId: string) => Promise<PbxResult>;
}

/** Stasis args of the agent legs we originate: the ARI app must not take them for calls. */
export const AGENT_LEG_ARG0 = 'ser-own';
export const AGENT_LEG_KIND = 'queue-agent';

/**
 * What the dialplan finds in SER_QUEUESTATUS when a caller comes back from the queue: COMPLETED (the
 * agent hung up; SER_QUEUE_DONE=1 too), TIMEOUT (maxWaitSeconds), SHUTDOWN (ser-ari stopping).
 */
export type QueueExitStatus = 'COMPLETED' | 'TIMEOUT' | 'SHUTDOWN';

type CallerState = 'admitting' | 'waiting' | 'connecting' | 'bridged' | 'gone';

interface Caller {
  callId: string;
  state: CallerState;
  priority: number;
  /** The waiting-list entry, kept while connecting so a failed connection puts the caller back in its place. */
  entry: WaitingEntry | null;
  leg: Leg | null;
  deadline: number | null;
  maxWaitTimer: NodeJS.Timeout | null;
}

type LegState = 'ringing' | 'cancelling' | 'answered' | 'gone';

/** One agent channel we originated: rung for the queue, bridged to whoever heads the queue on answer. */
interface Leg {
  channelId: string;
  agent: string;
  state: LegState;
  startedAt: number;
  timedOut: boolean;
  ringTimer: NodeJS.Timeout | null;
  caller: Caller | null;
  bridgeId: string | null;
  /** Settles when the originate request has; a hang-up waits for it, or it could overtake the channel's creation. */
  originated: Promise<void>;
}

const nonce = () => randomBytes(4).toString('hex');

/**
 * One built-in queue (`Stasis(ser,queue,<name>)`).
 *
 * Callers wait in the queue's holding bridge with music on hold. Agents are rung for the queue, not
 * for one caller: as long as more callers wait than agents ring, the longest-idle free agent is
 * originated; the agent who answers is bridged with whoever heads the queue at that moment, so a
 * priority raised during a ring still counts. When callers leave and more agents ring than callers
 * wait, the newest ring is cancelled. Every per-call mixing bridge is deleted on every path.
 *
 * All state changes happen synchronously in event handlers; ARI requests come after, and each step
 * re-checks the state it depends on once its request returns, because a hang-up may land meanwhile.
 */
export class PriorityQueue {
  readonly name: string;
  readonly #s: QueueSettings;
  readonly #ari: QueueAri;
  readonly #registry: CallRegistry;
  readonly #bus: EventBus;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #live: () => Set<string> | undefined;
  readonly #continueCall: ((callId: string) => Promise<PbxResult>) | undefined;
  readonly #waiting = new WaitingList();
  readonly #agents: AgentPool;
  readonly #callers = new Map<string, Caller>();
  readonly #legs = new Map<string, Leg>();
  readonly #bridges = new Set<string>();
  #holding: Promise<string> | null = null;
  #holdingId: string | null = null;
  #restTimer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(settings: QueueSettings, deps: PriorityQueueDeps) {
    this.name = settings.name;
    this.#s = settings;
    this.#ari = deps.ari;
    this.#registry = deps.registry;
    this.#bus = deps.bus;
    this.#now = deps.now ?? Date.now;
    this.#live = deps.live ?? (() => undefined);
    this.#continueCall = deps.continueCall;
    this.#log = deps.logger.child({ component: 'queue', queue: settings.name });
    this.#agents = new AgentPool(settings.agents, { now: this.#now(), retryMs: settings.retrySeconds * 1000 });
  }

  /** Reads the agents' endpoint state and creates the holding bridge. Safe to skip: admit() does what it needs. */
  async start(): Promise<void> {
    await Promise.all(
      this.#s.agents.map(async (agent) => {
        try {
          const state = await this.#ari.endpointState(agent);
          // Local/ and other channel drivers have no endpoint resource: only a known `offline` excludes.
          if (state === 'offline') this.#agents.setReachable(agent, false);
          this.#log.debug({ agent, state }, 'agent endpoint state');
        } catch (err) {
          this.#log.warn({ agent, err: errMsg(err) }, 'cannot read agent endpoint state; assuming reachable');
        }
      }),
    );
    await this.#ari.subscribeEndpoints(this.#s.agents).catch((err) => {
      this.#log.warn({ err: errMsg(err) }, 'cannot subscribe to agent endpoint state; offline agents are found only when rung');
    });
    await this.#ensureHolding().catch((err) => {
      this.#log.warn({ err: errMsg(err) }, 'cannot create the holding bridge yet; the first caller retries');
    });
  }

  /** Takes a caller over: holding bridge + MOH, place by priority (QUEUE_PRIO or the registry's), then agents. */
  async admit(callId: string, channelState: string | undefined): Promise<void> {
    if (this.#stopped) throw new Error(`queue is stopped [queue:${this.name}, id:${callId}]`);
    if (this.#callers.has(callId)) return;
    const caller: Caller = { callId, state: 'admitting', priority: 0, entry: null, leg: null, deadline: null, maxWaitTimer: null };
    this.#callers.set(callId, caller);
    try {
      const holding = await this.#ensureHolding();
      if (channelState !== undefined && channelState !== 'Up') await this.#ari.answer(callId);
      caller.priority = await this.#initialPriority(callId);
      if (gone(caller)) return;
      await this.#putOnHold(holding, callId).catch(async (err: unknown) => {
        if (!isBridgeGone(err)) throw err;
        // Asterisk restarted since the bridge was made (recording 12): make a new one, once.
        this.#log.info({ bridgeId: holding }, 'the holding bridge is gone (Asterisk restarted?): making a new one');
        this.#forgetHolding(holding);
        const fresh = await this.#ensureHolding();
        if (!gone(caller)) await this.#putOnHold(fresh, callId);
      });
    } catch (err) {
      if (gone(caller)) return;
      this.#callers.delete(callId);
      throw err;
    }
    if (gone(caller)) return;
    if (this.#stopped) throw new Error(`queue stopped while admitting [queue:${this.name}, id:${callId}]`);
    caller.state = 'waiting';
    const entry = this.#waiting.add(callId, caller.priority, this.#now());
    if (this.#s.maxWaitSeconds !== null) caller.deadline = entry.enqueuedAt + this.#s.maxWaitSeconds * 1000;
    this.#armMaxWait(caller);
    this.#registry.update(callId, { phase: 'queued', queue: this.name, agent: null, priority: caller.priority });
    this.#log.info({ callId, priority: caller.priority, position: this.#waiting.positionOf(callId) }, 'caller queued');
    this.#publishPositions();
    this.#dispatch();
  }

  has(callId: string): boolean {
    return this.#callers.has(callId);
  }

  /** True for the holding bridge and the live conversation bridges of this queue. */
  ownsBridge(bridgeId: string): boolean {
    return bridgeId === this.#holdingId || this.#bridges.has(bridgeId);
  }

  /** Forgets the holding bridge when Asterisk no longer has it (it restarted): the next caller gets a new one. */
  forgetGoneBridges(present: ReadonlySet<string>): void {
    if (this.#holdingId && !present.has(this.#holdingId)) {
      this.#log.info({ bridgeId: this.#holdingId }, 'the holding bridge is gone after a reconnect (Asterisk restarted): a new one for the next caller');
      this.#forgetHolding(this.#holdingId);
    }
  }

  /** A caller an earlier run of ser-ari left waiting in its holding bridge: moved into ours, queued by its priority. */
  async adoptWaiting(callId: string, fromBridge: string): Promise<void> {
    await this.#ari.removeChannel(fromBridge, callId).catch(() => undefined);
    await this.admit(callId, 'Up');
  }

  /**
   * A caller an earlier run had bridged with an agent: the conversation goes on untouched, and ends as
   * any other (the agent hanging up returns the caller to the dialplan). Returns the agent endpoint.
   */
  adoptConversation(callId: string, legId: string, legName: string, bridgeId: string): string {
    // Channel names are the endpoint plus a suffix: PJSIP/1001-0000000a, Local/1001@agents-00000003;1.
    const agent = this.#s.agents.find((a) => legName.startsWith(`${a}-`)) ?? legName;
    const leg: Leg = { channelId: legId, agent, state: 'answered', startedAt: this.#now(), timedOut: false, ringTimer: null, caller: null, bridgeId, originated: Promise.resolve() };
    const caller: Caller = { callId, state: 'bridged', priority: this.#registry.get(callId)?.priority ?? 0, entry: null, leg, deadline: null, maxWaitTimer: null };
    leg.caller = caller;
    this.#legs.set(legId, leg);
    this.#callers.set(callId, caller);
    this.#bridges.add(bridgeId);
    this.#live()?.add(legId).add(bridgeId);
    if (this.#s.agents.includes(agent)) {
      this.#agents.ringing(agent);
      this.#agents.answered(agent);
    }
    this.#log.info({ callId, agent, bridgeId }, 'took over a conversation with an agent from an earlier run');
    return agent;
  }

  /** null when the caller is not in this queue. A caller already with an agent keeps the value for a requeue. */
  setPriority(callId: string, change: PriorityChange): PbxResult | null {
    const caller = this.#callers.get(callId);
    if (!caller || caller.state === 'gone') return null;
    const waiting = this.#waiting.get(callId);
    const current = waiting?.priority ?? caller.priority;
    const next = 'set' in change ? change.set : current + change.add;
    caller.priority = next;
    if (waiting) this.#waiting.setPriority(callId, next);
    else if (caller.entry) caller.entry.priority = next;
    this.#registry.update(callId, { priority: next });
    this.#log.info({ callId, from: current, to: next, position: this.#waiting.positionOf(callId) }, 'caller priority changed');
    this.#publishPositions();
    return { ok: true };
  }

  /** The ARI app (or our own StasisEnd/ChannelDestroyed) says the caller is gone. Idempotent. */
  callerEnded(callId: string): void {
    this.#callerLeft(callId, 'caller hung up');
  }

  handleEvent(e: QueueAriEvent): void {
    switch (e.type) {
      case 'StasisStart': {
        const leg = this.#legs.get(e.channelId);
        if (leg) this.#legAnswered(leg);
        return;
      }
      case 'StasisEnd':
      case 'ChannelDestroyed': {
        const leg = this.#legs.get(e.channelId);
        if (leg) this.#legGone(leg, e.type === 'ChannelDestroyed' ? e.cause : null);
        else if (this.#callers.has(e.channelId)) this.#callerLeft(e.channelId, 'caller left Stasis');
        return;
      }
      case 'EndpointStateChange':
        if (this.#agents.setReachable(e.endpoint, e.state !== 'offline')) {
          this.#log.info({ agent: e.endpoint, state: e.state }, 'agent endpoint state changed');
          this.#dispatch();
        }
        return;
    }
  }

  /** Callers in service order, for the console and tests. */
  waiting(): Array<{ callId: string; position: number; priority: number }> {
    return this.#waiting.list().map((e, i) => ({ callId: e.callId, position: i + 1, priority: e.priority }));
  }

  agents(): AgentSnapshot[] {
    return this.#agents.snapshot();
  }

  /**
   * Ends the queue: rings are cancelled, waiting callers and callers with an agent continue in the
   * dialplan with SER_QUEUESTATUS=SHUTDOWN (agents are hung up), every bridge of ours is deleted.
   * Drain first (wait for the registry's `idle`) to end no conversation.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#restTimer) clearTimeout(this.#restTimer);
    const work: Array<Promise<unknown>> = [];
    for (const leg of [...this.#legs.values()]) {
      if (leg.ringTimer) clearTimeout(leg.ringTimer);
      if (leg.state === 'ringing') leg.state = 'cancelling';
      work.push(this.#hangupLeg(leg));
    }
    for (const caller of [...this.#callers.values()]) {
      this.#callers.delete(caller.callId);
      if (caller.maxWaitTimer) clearTimeout(caller.maxWaitTimer);
      const was = caller.state;
      caller.state = 'gone';
      if (was === 'waiting' || was === 'connecting' || was === 'bridged') work.push(this.#returnToDialplan(caller.callId, 'SHUTDOWN', was === 'waiting'));
    }
    this.#waiting.list().slice().forEach((e) => this.#waiting.remove(e.callId));
    await Promise.allSettled(work);
    await Promise.allSettled([...this.#bridges].map((b) => this.#destroyBridge(b)));
    if (this.#holding) {
      const id = await this.#holding.catch(() => null);
      if (id) await this.#destroyBridge(id);
    }
  }

  // ---- callers -------------------------------------------------------------------------------

  #callerLeft(callId: string, why: string): void {
    const caller = this.#callers.get(callId);
    if (!caller) return;
    this.#callers.delete(callId);
    if (caller.maxWaitTimer) clearTimeout(caller.maxWaitTimer);
    const was = caller.state;
    caller.state = 'gone';
    this.#log.info({ callId, state: was, why }, 'caller left the queue');
    if (was === 'waiting') {
      this.#waiting.remove(callId);
      this.#publishPositions();
      this.#cancelExcessRings();
      return;
    }
    const leg = caller.leg;
    if ((was === 'connecting' || was === 'bridged') && leg) {
      // The agent's leg ends too; its ChannelDestroyed frees the agent. The bridge goes now.
      if (leg.state !== 'gone') void this.#hangupLeg(leg);
      if (leg.bridgeId) void this.#destroyBridge(leg.bridgeId);
    }
  }

  async #initialPriority(callId: string): Promise<number> {
    const known = this.#registry.get(callId)?.priority;
    if (typeof known === 'number') return known;
    try {
      const v = await this.#ari.getVariable(callId, 'QUEUE_PRIO');
      const n = v === null || v.trim() === '' ? NaN : Number(v);
      return Number.isFinite(n) ? Math.trunc(n) : 0;
    } catch (err) {
      this.#log.debug({ callId, err: errMsg(err) }, 'QUEUE_PRIO not readable; priority 0');
      return 0;
    }
  }

  #armMaxWait(caller: Caller): void {
    if (caller.deadline === null) return;
    const delay = Math.max(0, caller.deadline - this.#now());
    caller.maxWaitTimer = setTimeout(() => {
      caller.maxWaitTimer = null;
      if (caller.state !== 'waiting') return;
      this.#callers.delete(caller.callId);
      caller.state = 'gone';
      this.#waiting.remove(caller.callId);
      this.#log.info({ callId: caller.callId }, 'caller waited maxWaitSeconds; back to the dialplan');
      this.#publishPositions();
      this.#cancelExcessRings();
      void this.#returnToDialplan(caller.callId, 'TIMEOUT', true);
    }, delay);
  }

  /** The caller leaves the queue alive: SER_QUEUESTATUS for the dialplan, then continue (hang up if that fails). */
  async #returnToDialplan(callId: string, status: QueueExitStatus, fromHolding: boolean): Promise<void> {
    if (fromHolding && this.#holdingId) await this.#ari.removeChannel(this.#holdingId, callId).catch(() => undefined);
    try {
      await this.#ari.setVariable(callId, 'SER_QUEUESTATUS', status);
      // dialplan/extensions_ser.conf [ser-queue] skips app_queue's Queue() for a caller already served
      if (status === 'COMPLETED') await this.#ari.setVariable(callId, 'SER_QUEUE_DONE', '1');
      if (this.#continueCall) {
        const res = await this.#continueCall(callId);
        if (!res.ok) throw new Error(res.error ?? 'continue refused');
      } else {
        await this.#ari.continueInDialplan(callId);
      }
    } catch (err) {
      this.#log.warn({ callId, status, err: errMsg(err) }, 'cannot continue the caller in the dialplan; hanging up');
      await this.#hangup(callId);
    }
  }

  // ---- agents --------------------------------------------------------------------------------

  /** Rings free agents while more callers wait than agents ring. */
  #dispatch(): void {
    if (this.#stopped) return;
    const now = this.#now();
    let need = this.#waiting.size - this.#ringingCount();
    while (need > 0) {
      const agent = this.#agents.pick(now);
      if (!agent) break;
      this.#ring(agent, now);
      need--;
    }
    if (need > 0) this.#wakeAtRestEnd(now);
  }

  #wakeAtRestEnd(now: number): void {
    const at = this.#agents.nextRestEnd(now);
    if (at === undefined || this.#restTimer) return;
    this.#restTimer = setTimeout(() => {
      this.#restTimer = null;
      this.#dispatch();
    }, Math.max(1, at - now));
  }

  #ring(agent: string, now: number): void {
    this.#agents.ringing(agent);
    const leg: Leg = {
      channelId: `ser-qagent-${nonce()}-${this.name}`,
      agent,
      state: 'ringing',
      startedAt: now,
      timedOut: false,
      ringTimer: null,
      caller: null,
      bridgeId: null,
      originated: Promise.resolve(),
    };
    this.#legs.set(leg.channelId, leg);
    this.#live()?.add(leg.channelId);
    // Our own timer ends the ring; the switch's originate timeout is only a backstop if we die.
    leg.ringTimer = setTimeout(() => {
      leg.ringTimer = null;
      if (leg.state !== 'ringing') return;
      leg.timedOut = true;
      leg.state = 'cancelling';
      this.#log.info({ agent, channelId: leg.channelId }, 'agent did not answer within the ring timeout');
      void this.#hangupLeg(leg);
    }, this.#s.ringTimeoutSeconds * 1000);
    this.#log.info({ agent, channelId: leg.channelId, waiting: this.#waiting.size }, 'ringing agent');
    leg.originated = this.#ari
      .originate({
        endpoint: agent,
        channelId: leg.channelId,
        appArgs: `${AGENT_LEG_ARG0},${AGENT_LEG_KIND},${this.name}`,
        timeoutSeconds: this.#s.ringTimeoutSeconds + 5,
        callerId: `"${this.name}" <${this.name}>`,
      })
      .catch((err) => {
        this.#log.warn({ agent, channelId: leg.channelId, err: errMsg(err) }, 'cannot ring agent');
        this.#legGone(leg, null, 'failed');
      });
  }

  #ringingCount(): number {
    let n = 0;
    for (const leg of this.#legs.values()) if (leg.state === 'ringing') n++;
    return n;
  }

  /** Fewer callers than rings: cancel the newest rings (the oldest are closest to an answer). */
  #cancelExcessRings(): void {
    let excess = this.#ringingCount() - this.#waiting.size;
    if (excess <= 0) return;
    const newestFirst = [...this.#legs.values()].filter((l) => l.state === 'ringing').sort((a, b) => b.startedAt - a.startedAt);
    for (const leg of newestFirst) {
      if (excess-- <= 0) break;
      leg.state = 'cancelling';
      if (leg.ringTimer) clearTimeout(leg.ringTimer);
      this.#log.info({ agent: leg.agent, channelId: leg.channelId }, 'cancelling agent ring: no caller left for it');
      void this.#hangupLeg(leg);
    }
  }

  #legAnswered(leg: Leg): void {
    if (leg.state === 'cancelling') {
      // answered just as we cancelled: make sure the hang-up reaches the now answered channel
      void this.#hangupLeg(leg);
      return;
    }
    if (leg.state !== 'ringing') return;
    if (leg.ringTimer) clearTimeout(leg.ringTimer);
    leg.ringTimer = null;
    leg.state = 'answered';
    this.#agents.answered(leg.agent);
    const entry = this.#waiting.shift();
    const caller = entry ? this.#callers.get(entry.callId) : undefined;
    if (!entry || !caller) {
      this.#log.info({ agent: leg.agent }, 'agent answered but no caller is waiting; releasing the agent');
      void this.#hangupLeg(leg);
      return;
    }
    if (caller.maxWaitTimer) clearTimeout(caller.maxWaitTimer);
    caller.maxWaitTimer = null;
    caller.state = 'connecting';
    caller.entry = entry;
    caller.leg = leg;
    leg.caller = caller;
    leg.bridgeId = `ser-qcall-${nonce()}-${caller.callId}`;
    this.#publishPositions();
    void this.#connect(caller, leg, leg.bridgeId);
  }

  async #connect(caller: Caller, leg: Leg, bridgeId: string): Promise<void> {
    const alive = () => caller.state === 'connecting' && leg.state === 'answered' && !this.#stopped;
    try {
      this.#bridges.add(bridgeId);
      this.#live()?.add(bridgeId);
      await this.#ari.createBridge({ bridgeId, type: 'mixing', name: `ser-queue-${this.name}-call` });
      if (!alive()) return this.#abandonBridge(bridgeId, caller);
      if (this.#holdingId) await this.#ari.removeChannel(this.#holdingId, caller.callId);
      if (!alive()) return this.#abandonBridge(bridgeId, caller);
      await this.#ari.addChannels(bridgeId, [caller.callId, leg.channelId]);
      if (!alive()) return this.#abandonBridge(bridgeId, caller);
    } catch (err) {
      if (!alive()) return this.#abandonBridge(bridgeId, caller);
      this.#log.warn({ callId: caller.callId, agent: leg.agent, err: errMsg(err) }, 'cannot bridge caller and agent; caller back in the queue');
      // Hanging the agent leg up brings its ChannelDestroyed, which requeues the caller (still connecting).
      await this.#hangupLeg(leg);
      return;
    }
    caller.state = 'bridged';
    caller.entry = null;
    this.#registry.update(caller.callId, { phase: 'agent', queue: this.name, agent: leg.agent });
    this.#log.info({ callId: caller.callId, agent: leg.agent, bridgeId }, 'caller bridged to agent');
  }

  /**
   * A connection step finished after one side went away. The bridge of this attempt goes (again: the
   * delete may have overtaken its creation), and a requeued caller that our late addChannel pulled
   * into it is put back in the holding bridge.
   */
  async #abandonBridge(bridgeId: string, caller: Caller): Promise<void> {
    await this.#destroyBridge(bridgeId);
    if (caller.state === 'waiting' && this.#holdingId) {
      await this.#putOnHold(this.#holdingId, caller.callId).catch(() => undefined);
    }
  }

  #legGone(leg: Leg, cause: number | null, failure?: RingFailure): void {
    if (leg.state === 'gone') return;
    const was = leg.state;
    leg.state = 'gone';
    this.#legs.delete(leg.channelId);
    this.#live()?.delete(leg.channelId);
    if (leg.ringTimer) clearTimeout(leg.ringTimer);
    const now = this.#now();
    if (was === 'ringing' || was === 'cancelling') {
      const why: RingFailure = failure ?? (leg.timedOut ? 'no-answer' : was === 'cancelling' ? 'cancelled' : ringFailureOf(cause));
      this.#agents.ringFailed(leg.agent, why, now);
      this.#log.info({ agent: leg.agent, why, cause }, 'agent ring ended without an answer');
      this.#dispatch();
      return;
    }
    // answered: the conversation (or the answered leg) is over
    this.#agents.release(leg.agent, now);
    if (leg.bridgeId) void this.#destroyBridge(leg.bridgeId);
    const caller = leg.caller;
    if (caller && caller.state === 'connecting') {
      void this.#requeue(caller, leg.bridgeId);
    } else if (caller && caller.state === 'bridged') {
      this.#log.info({ callId: caller.callId, agent: leg.agent }, 'agent hung up; caller continues in the dialplan');
      this.#callers.delete(caller.callId);
      caller.state = 'gone';
      void this.#returnToDialplan(caller.callId, 'COMPLETED', false);
    }
    this.#dispatch();
  }

  /** The agent left before the bridge was complete: the caller goes back to its old place. */
  async #requeue(caller: Caller, bridgeId: string | null): Promise<void> {
    const entry = caller.entry;
    caller.leg = null;
    caller.entry = null;
    caller.state = 'waiting';
    if (entry) this.#waiting.restore({ ...entry, priority: caller.priority });
    else this.#waiting.add(caller.callId, caller.priority, this.#now());
    this.#armMaxWait(caller);
    this.#registry.update(caller.callId, { phase: 'queued', queue: this.name, agent: null });
    this.#log.info({ callId: caller.callId, position: this.#waiting.positionOf(caller.callId) }, 'agent left before the bridge; caller back in the queue');
    this.#publishPositions();
    this.#dispatch();
    try {
      if (bridgeId) await this.#destroyBridge(bridgeId);
      const holding = await this.#ensureHolding();
      if (caller.state === 'waiting') await this.#putOnHold(holding, caller.callId);
    } catch (err) {
      this.#log.warn({ callId: caller.callId, err: errMsg(err) }, 'cannot return the caller to the holding bridge');
    }
  }

  // ---- bridges and plumbing ------------------------------------------------------------------

  #ensureHolding(): Promise<string> {
    if (!this.#holding) {
      const bridgeId = `ser-qhold-${nonce()}-${this.name}`;
      this.#holding = (async () => {
        this.#live()?.add(bridgeId);
        await this.#ari.createBridge({ bridgeId, type: 'holding', name: `ser-queue-${this.name}` });
        this.#holdingId = bridgeId;
        return bridgeId;
      })();
      this.#holding.catch(() => {
        this.#live()?.delete(bridgeId);
        this.#holding = null; // the next admit tries again
      });
    }
    return this.#holding;
  }

  /**
   * Callers wait with MOH. Asterisk stops a holding bridge's music for good when its last member leaves
   * (recording 10: the announcer is a "lonely" channel) and starting it again while it plays is
   * harmless, so it is started after every caller put on hold.
   */
  async #putOnHold(holdingId: string, callId: string): Promise<void> {
    await this.#ari.addChannels(holdingId, [callId]);
    await this.#ari.startMoh(holdingId, this.#s.moh).catch((err) => {
      this.#log.warn({ bridgeId: holdingId, moh: this.#s.moh, callId, err: errMsg(err) }, 'music on hold did not start; the caller waits in silence');
    });
  }

  #forgetHolding(bridgeId: string): void {
    if (this.#holdingId !== bridgeId) return; // already replaced
    this.#live()?.delete(bridgeId);
    this.#holding = null;
    this.#holdingId = null;
  }

  async #destroyBridge(bridgeId: string): Promise<void> {
    try {
      await this.#ari.destroyBridge(bridgeId);
    } catch (err) {
      if (!isNotFound(err)) this.#log.warn({ bridgeId, err: errMsg(err) }, 'cannot delete bridge');
    } finally {
      this.#bridges.delete(bridgeId);
      this.#live()?.delete(bridgeId);
    }
  }

  async #hangupLeg(leg: Leg): Promise<void> {
    await leg.originated;
    // Not found: the leg ended and we missed its ChannelDestroyed (e.g. during an ARI reconnect).
    if ((await this.#hangup(leg.channelId)) === 'not-found') this.#legGone(leg, null);
  }

  async #hangup(channelId: string): Promise<'done' | 'not-found' | 'failed'> {
    try {
      await this.#ari.hangup(channelId, 'normal');
      return 'done';
    } catch (err) {
      if (isNotFound(err)) return 'not-found';
      this.#log.warn({ channelId, err: errMsg(err) }, 'hang-up refused');
      return 'failed';
    }
  }

  #publishPositions(): void {
    const waiting = this.#waiting.size;
    for (const c of this.#waiting.changes()) {
      this.#bus.publish({ type: 'queue.position', callId: c.callId, queue: this.name, position: c.position, priority: c.priority, waiting });
    }
  }
}

/** Q.850 cause of an unanswered originate → why. 17 user busy; 18/19/21 no answer; else a failure. */
export function ringFailureOf(cause: number | null): RingFailure {
  if (cause === 17) return 'busy';
  if (cause === 18 || cause === 19 || cause === 21) return 'no-answer';
  return 'failed';
}

/** Read through a function: TypeScript's narrowing does not see a hang-up that landed during an await. */
function gone(caller: Caller): boolean {
  return caller.state === 'gone';
}

/** The port's errors carry the switch's status (src/queue/port.ts): 404, the object is gone. */
function isNotFound(err: unknown): boolean {
  return (err as { status?: unknown }).status === 404;
}

/** A 404 on addChannels is the bridge or one of the channels: only Asterisk's message tells which. */
function isBridgeGone(err: unknown): boolean {
  return isNotFound(err) && /bridge not found/i.test(errMsg(err));
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

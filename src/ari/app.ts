import type { Channel, Client } from 'ari-client';
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import { CallLifecycle } from '../calls/lifecycle.js';
import type { CallRecord, CallRegistry } from '../calls/registry.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { CallMode, CallPhase } from '../events/types.js';
import type { PbxHealth } from '../pbx/port.js';
import type { PbxResult } from '../pbx/types.js';
import type { AudioPath } from '../pipeline/audio-path.js';
import { AriConnection, type AriConnectionState } from './connection.js';
import { isOwnChannel, OWN_BRIDGE_KINDS, parseOwnId } from './ids.js';
import type { QueueAdoption, QueueHandler } from '../queue/handler.js';
import { planReconcile } from './reconcile.js';
import { ariRequest, hasStatus } from './rest.js';
import { CallSession } from './session.js';
import { StasisWatch } from './stasis-watch.js';
import { TapBuilder, removeBridge, removeChannel, type Tap } from './tap.js';
import { superviseTap } from './tap-health.js';

export type { QueueHandler } from '../queue/handler.js';

export type AriConfig = Config['ari'];

/** A raw ARI websocket event (StasisStart, ChannelDestroyed, PlaybackFinished, ...). */
export interface AriEvent {
  type: string;
  args?: string[];
  channel?: { id: string; name: string; caller?: { name: string; number: string }; dialplan?: { context: string; app_name?: string; app_data?: string } };
  playback?: { id: string; state: string };
  bridge?: { id: string };
  cause?: number;
  cause_txt?: string;
}

export interface AriAppHealth extends PbxHealth {
  state: AriConnectionState;
  /** Our objects Asterisk should hold right now (snoops, externalMedia, bridges, agent legs). */
  objects: number;
}

export interface AriAppOptions {
  config: Config;
  logger: Logger;
  bus: EventBus;
  registry: CallRegistry;
  audioPath: AudioPath;
  queueHandler?: QueueHandler;
  /** The PBX-neutral lifecycle the calls are reported to; one of its own when absent. */
  calls?: CallLifecycle;
}

/** Set on every caller this app taps, so a restarted ser-ari finds and taps it again. */
export const TAPPED_BY_VAR = 'SER_TAPPED_BY';

const WATCHED_EVENTS = ['StasisStart', 'StasisEnd', 'ChannelDestroyed', 'PlaybackFinished'] as const;

/**
 * The Stasis application: dispatches callers by their Stasis args (monitor / decide / queue), taps
 * them, keeps the CallRegistry current, reconciles after every (re)connect and releases everything
 * on the way out. Our own snoop / externalMedia / agent channels enter the app too and are never calls.
 */
export class AriApp {
  readonly #o: AriAppOptions;
  readonly #cfg: AriConfig;
  readonly #log: Logger;
  readonly #conn: AriConnection;
  readonly #sessions = new Map<string, CallSession>();
  readonly #live = new Set<string>();
  readonly #stasis = new StasisWatch();
  readonly #taps: TapBuilder;
  readonly #calls: CallLifecycle;
  readonly #ownsCalls: boolean;
  readonly #events = new EventEmitter<{ event: [AriEvent]; connected: [Client] }>();
  readonly #wired = new WeakSet<Client>();
  #firstReconcile = true;
  #stopping = false;
  #reconciling: Promise<void> | null = null;

  constructor(opts: AriAppOptions) {
    const { config } = opts;
    if (!config.ari.url) throw new Error('AriApp needs ari.url');
    this.#o = opts;
    this.#cfg = config.ari;
    this.#log = opts.logger.child({ component: 'ari-app' });
    this.#conn = new AriConnection({
      url: config.ari.url,
      user: config.ari.user,
      password: config.ari.password,
      app: config.ari.app,
      reconnectMinMs: config.ari.reconnectMinMs,
      reconnectMaxMs: config.ari.reconnectMaxMs,
      connectTimeoutMs: config.ari.requestTimeoutMs * 2,
      logger: opts.logger,
    });
    this.#taps = new TapBuilder({
      client: () => this.#conn.client,
      app: config.ari.app,
      audioPath: opts.audioPath,
      format: config.ari.tapFormat,
      pinSource: config.rtp.pinSource,
      maxTaps: config.ari.maxTaps,
      timeoutMs: config.ari.requestTimeoutMs,
      live: this.#live,
      stasis: this.#stasis,
      logger: this.#log,
    });
    this.#ownsCalls = opts.calls === undefined;
    this.#calls = opts.calls ?? new CallLifecycle({ registry: opts.registry, bus: opts.bus, audioPath: opts.audioPath, verdicts: config.ari, logger: opts.logger });
    this.#conn.on('connected', (client) => this.#onConnected(client));
  }

  start(): void {
    this.#conn.start();
  }

  get config(): AriConfig {
    return this.#cfg;
  }

  get client(): Client | null {
    return this.#conn.client;
  }

  /** Ids of our objects that should exist on Asterisk; anything of ours not in here is an orphan. */
  get live(): Set<string> {
    return this.#live;
  }

  get logger(): Logger {
    return this.#log;
  }

  /** Our own channels' Stasis entries (a channel is bridged or played to only once it is in). */
  get stasis(): StasisWatch {
    return this.#stasis;
  }

  session(callId: string): CallSession | undefined {
    return this.#sessions.get(callId);
  }

  record(callId: string): CallRecord | undefined {
    return this.#calls.get(callId)?.record;
  }

  updateRecord(callId: string, patch: Partial<Omit<CallRecord, 'callId' | 'startedAt'>>): void {
    this.#calls.get(callId)?.update(patch);
  }

  health(): AriAppHealth {
    return {
      connected: this.#conn.state === 'connected',
      state: this.#conn.state,
      reconnects: this.#conn.reconnects,
      lastError: this.#conn.lastError,
      calls: this.#sessions.size,
      tapped: [...this.#sessions.values()].filter((s) => s.tap !== null).length,
      objects: this.#live.size,
    };
  }

  /**
   * Runs on every (re)connect, with the ari-client instance that serves from now on, before any of its
   * events is dispatched: whoever talks to Asterisk beside the app (the built-in queue) moves to it here.
   */
  onConnected(listener: (client: Client) => void): () => void {
    this.#events.on('connected', listener);
    return () => this.#events.off('connected', listener);
  }

  /** Resolves with the first event that matches, or null after `timeoutMs` (or when the call ends, via signal). */
  waitForEvent(match: (e: AriEvent) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<AriEvent | null> {
    return new Promise((resolve) => {
      const done = (e: AriEvent | null): void => {
        clearTimeout(timer);
        this.#events.off('event', onEvent);
        signal?.removeEventListener('abort', onAbort);
        resolve(e);
      };
      const onEvent = (e: AriEvent): void => {
        if (match(e)) done(e);
      };
      const onAbort = (): void => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      this.#events.on('event', onEvent);
      if (signal?.aborted) done(null);
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sends the caller back to the dialplan (next priority, or the given place). */
  async continueCall(callId: string, to?: { context: string; extension: string; priority?: number }): Promise<PbxResult> {
    const s = this.#sessions.get(callId);
    const client = this.#conn.client;
    if (!client) return { ok: false, error: `not connected to Asterisk [method:continue, id:${callId}]` };
    if (s) s.expectingStasisEnd = true;
    try {
      await ariRequest('POST continue', callId, this.#cfg.requestTimeoutMs, () =>
        client.channels.continueInDialplan({ channelId: callId, ...(to ? { context: to.context, extension: to.extension, priority: to.priority ?? 1 } : {}) }),
      );
      if (s) {
        s.inStasis = false;
        s.call.update({ inStasis: false });
      }
      return { ok: true };
    } catch (err) {
      if (s) s.expectingStasisEnd = false;
      const status = (err as { status?: number }).status;
      return { ok: false, error: (err as Error).message, ...(status ? { status } : {}) };
    }
  }

  /** Taps the agent's voice too (ari.agentTap), keyed `<callId>:agent` in the audio path. */
  async tapAgent(callId: string, agentChannelId: string): Promise<void> {
    const s = this.#sessions.get(callId);
    if (!s || s.ended || s.agentTap) return;
    const res = await this.#taps.build(`${callId}:agent`, callId, agentChannelId, 'in');
    if (!res.ok) {
      s.log.warn({ reason: res.reason, err: res.error }, 'agent-side tap not built');
      return;
    }
    if (s.ended) await this.#taps.teardown(res.tap);
    else s.agentTap = res.tap;
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const release = Promise.all([...this.#sessions.values()].map((s) => s.call.end('shutdown')));
    await raceTimeout(release, this.#cfg.shutdownTimeoutMs);
    const client = this.#conn.client;
    if (client && this.#live.size > 0) await raceTimeout(this.#removeOwn(client, [...this.#live]), 1000);
    await this.#conn.stop();
    if (this.#ownsCalls) await this.#calls.close();
  }

  #onConnected(client: Client): void {
    if (!this.#wired.has(client)) {
      this.#wired.add(client);
      for (const type of WATCHED_EVENTS) {
        (client as unknown as NodeJS.EventEmitter).on(type, (event: unknown) => {
          if (client !== this.#conn.client) return;
          this.#dispatch(client, event as AriEvent).catch((err: Error) =>
            this.#log.error({ err: err.message, event: type }, 'handling an ARI event failed'),
          );
        });
      }
    }
    this.#events.emit('connected', client);
    this.#reconcile(client).catch((err: Error) => this.#log.error({ err: err.message }, 'reconcile failed; the next reconnect retries'));
  }

  async #dispatch(client: Client, e: AriEvent): Promise<void> {
    this.#events.emit('event', e);
    if (this.#stopping || !e.channel) return;
    const id = e.channel.id;
    switch (e.type) {
      case 'StasisStart':
        return this.#onStasisStart(client, e);
      case 'StasisEnd': {
        const own = parseOwnId(id);
        this.#stasis.forget(id);
        if (own) return this.#onOwnChannelGone(client, own.kind, own.callId, id);
        const s = this.#sessions.get(id);
        if (!s) return;
        s.inStasis = false;
        s.call.update({ inStasis: false });
        if (s.expectingStasisEnd) {
          s.expectingStasisEnd = false;
          return;
        }
        // Nobody continued it: a channel only leaves Stasis on its own by hanging up.
        return s.call.end('hangup');
      }
      case 'ChannelDestroyed': {
        this.#stasis.forget(id);
        const s = this.#sessions.get(id);
        if (s) return s.call.end('hangup');
        const own = parseOwnId(id);
        if (own) return this.#onOwnChannelGone(client, own.kind, own.callId, id);
        return;
      }
      default:
        return;
    }
  }

  async #onStasisStart(client: Client, e: AriEvent): Promise<void> {
    const ch = e.channel!;
    const args = e.args ?? [];
    if (isOwnChannel(ch.id, args)) {
      // Ours, and meant to exist (it may arrive before the HTTP response that created it), or an orphan.
      if (!this.#live.has(ch.id)) {
        this.#log.info({ channel: ch.id }, 'removing a channel of ours that belongs to no live tap');
        await removeChannel(client, ch.id, this.#cfg.requestTimeoutMs, this.#log);
        return;
      }
      this.#stasis.entered(ch.id);
      return;
    }
    const channel = client.Channel(ch.id, ch as unknown as Channel);
    const [mode, queue] = args;
    if (mode === 'monitor') return this.#monitor(client, channel);
    if (mode === 'decide') return this.#decide(client, channel);
    if (mode === 'queue' && queue) return this.#queue(client, channel, queue);
    this.#log.warn({ callId: ch.id, args }, 'unknown Stasis args: the call goes back to the dialplan untapped (use monitor, decide or queue,<name>)');
    await this.continueCall(ch.id);
  }

  #openSession(channel: Channel, mode: CallMode, queue: string | null, phase: CallPhase = 'ivr'): CallSession {
    const existing = this.#sessions.get(channel.id);
    if (existing) {
      existing.channel = channel;
      existing.inStasis = true;
      existing.call.update({ inStasis: true });
      return existing;
    }
    const call = this.#calls.enter({
      callId: channel.id,
      channelName: channel.name,
      callerNumber: channel.caller?.number || null,
      callerName: channel.caller?.name || null,
      mode,
      phase,
      queue,
      context: channel.dialplan?.context ?? null,
      inStasis: true,
      tapped: false,
    });
    const s = new CallSession(channel, mode, call);
    this.#sessions.set(s.callId, s);
    call.onRelease((reason) => this.#release(s, reason));
    s.log.info({ mode, channel: channel.name, queue }, 'call entered the app');
    return s;
  }

  /** Keeps the caller's events (hang-up) flowing to us after it goes back to the dialplan. */
  async #subscribe(client: Client, s: CallSession): Promise<void> {
    try {
      await ariRequest('POST subscription', s.callId, this.#cfg.requestTimeoutMs, () =>
        client.applications.subscribe({ applicationName: this.#cfg.app, eventSource: `channel:${s.callId}` }),
      );
    } catch (err) {
      s.log.warn({ err: (err as Error).message }, 'could not subscribe to the caller channel; hang-up is seen through the tap instead');
    }
  }

  /**
   * A durable mark on the caller channel, read at the next start: a caller tapped before a planned
   * restart (SIGTERM returns it to the dialplan, where ARI cannot write to it) is found and tapped again.
   */
  async #markTapped(client: Client, s: CallSession): Promise<void> {
    try {
      await ariRequest('POST variable', s.callId, this.#cfg.requestTimeoutMs, () =>
        client.channels.setChannelVar({ channelId: s.callId, variable: TAPPED_BY_VAR, value: this.#cfg.app }),
      );
    } catch (err) {
      s.log.debug({ err: (err as Error).message }, `could not set ${TAPPED_BY_VAR}: this call is not re-tapped after a restart`);
    }
  }

  async #monitor(client: Client, channel: Channel): Promise<void> {
    const fresh = !this.#sessions.has(channel.id);
    const s = this.#openSession(channel, 'monitor', null);
    await Promise.all([this.#subscribe(client, s), fresh ? this.#markTapped(client, s) : undefined]);
    const back = await this.continueCall(s.callId);
    if (!back.ok) {
      if (back.status === 404) return s.call.end('hangup');
      s.log.warn({ err: back.error }, 'could not return the call to the dialplan');
    }
    if (fresh) await this.#startTap(s);
  }

  async #decide(client: Client, channel: Channel): Promise<void> {
    const fresh = !this.#sessions.has(channel.id);
    const s = this.#openSession(channel, fresh ? 'decide' : this.#sessions.get(channel.id)!.mode, null);
    // What a rule asked for (setVars while the caller was out of Stasis) overrides the built-in verdict.
    const vars = {
      ...s.call.verdictVariables(),
      ...(fresh ? { [TAPPED_BY_VAR]: this.#cfg.app } : {}),
      ...s.pendingVars,
    };
    s.pendingVars = {};
    const writes = Object.entries(vars).map(([variable, value]) =>
      ariRequest('POST variable', s.callId, this.#cfg.decideBudgetMs, () => client.channels.setChannelVar({ channelId: s.callId, variable, value })),
    );
    const steps = [Promise.allSettled(writes), ...(fresh ? [this.#subscribe(client, s)] : [])];
    const inTime = await raceTimeout(Promise.all(steps), this.#cfg.decideBudgetMs);
    if (!inTime) s.log.warn({ budgetMs: this.#cfg.decideBudgetMs }, 'decision variables not confirmed within the budget; returning the call anyway');
    const transfer = s.pendingTransfer;
    s.pendingTransfer = null;
    const back = await this.continueCall(s.callId, transfer ?? undefined);
    s.log.info({ vars, returned: back.ok, ...(transfer ? { transferredTo: transfer } : {}) }, 'decision point');
    if (!back.ok && back.status === 404) return s.call.end('hangup');
    if (fresh) void this.#startTap(s);
  }

  async #queue(client: Client, channel: Channel, queue: string): Promise<void> {
    const s = this.#openSession(channel, 'queue', queue);
    s.call.update({ mode: 'queue', queue });
    s.mode = 'queue';
    await Promise.all([this.#subscribe(client, s), this.#markTapped(client, s)]);
    if (!s.tap) await this.#startTap(s);
    if (s.ended) return;
    const handler = this.#o.queueHandler;
    if (!handler) {
      s.log.warn({ queue }, 'no built-in queue configured: the call goes back to the dialplan');
      await this.continueCall(s.callId);
      return;
    }
    try {
      await handler.admit({ callId: s.callId, channel, queue });
    } catch (err) {
      s.log.error({ queue, err: (err as Error).message }, 'the queue refused the call: it goes back to the dialplan');
      if (!s.ended && s.inStasis) await this.continueCall(s.callId);
    }
  }

  #startTap(s: CallSession): Promise<void> {
    return superviseTap(s, {
      taps: this.#taps,
      audioPath: this.#o.audioPath,
      retries: this.#cfg.tapRetries,
      healthMs: this.#cfg.tapHealthMs,
      report: (state, reason, attempt) => s.call.tap(state, reason, attempt),
    });
  }

  /** One of our channels left: a snoop leaving means its caller hung up (monitor calls outside Stasis). */
  async #onOwnChannelGone(client: Client, kind: string, callId: string, id: string): Promise<void> {
    const s = this.#sessions.get(callId);
    if (!s || s.ended) return;
    if (kind === 'agent' && s.agent?.agentId === id) {
      s.log.info('the agent left the call');
      const leg = s.agent;
      s.agent = null;
      this.#live.delete(leg.agentId);
      this.#live.delete(leg.bridgeId);
      await removeBridge(client, leg.bridgeId, this.#cfg.requestTimeoutMs, s.log);
      if (s.agentTap) {
        const t = s.agentTap;
        s.agentTap = null;
        await this.#taps.teardown(t);
      }
      if (s.inStasis) await this.continueCall(s.callId, { context: this.#cfg.transferContext, extension: 'agent-hangup' });
      return;
    }
    const tap = s.tap;
    // Our own tear-downs take ids out of `live` first: only an unexpected loss gets this far.
    if (!tap || (tap.snoopId !== id && tap.emId !== id) || !this.#live.has(id)) return;
    try {
      await ariRequest('GET channel', callId, this.#cfg.requestTimeoutMs, () => client.channels.get({ channelId: callId }));
    } catch (err) {
      if (hasStatus(err, 404)) await s.call.end('hangup');
      return;
    }
    // The caller is still up but its tap lost a channel (deleted by someone, or Asterisk dropped it).
    await s.tapping?.catch(() => undefined);
    if (s.ended || s.tap !== tap) return;
    s.log.warn({ lost: id }, 'tap lost a channel while the caller is up: rebuilding it');
    s.call.tap('retrying', `${kind === 'em' ? 'externalMedia' : 'snoop'} channel gone`);
    s.tap = null;
    await this.#taps.teardown(tap);
    if (!s.ended) void this.#startTap(s);
  }

  /** The ARI part of a call's end (its `Call.end` runs this): taps, agent leg and the queue's hold on it. */
  async #release(s: CallSession, reason: string): Promise<void> {
    this.#sessions.delete(s.callId);
    const client = this.#conn.client;
    if (reason === 'shutdown' && s.inStasis && client) {
      // Never strand a caller: whatever the dialplan does after Stasis() goes on without us.
      await this.continueCall(s.callId).catch(() => undefined);
    }
    await s.tapping?.catch(() => undefined);
    const releases: Array<Promise<unknown>> = [];
    for (const t of [s.tap, s.agentTap]) if (t) releases.push(this.#taps.teardown(t));
    s.tap = null;
    s.agentTap = null;
    if (s.agent) {
      const leg = s.agent;
      s.agent = null;
      this.#live.delete(leg.agentId);
      this.#live.delete(leg.bridgeId);
      if (client && reason !== 'shutdown') releases.push(removeChannel(client, leg.agentId, this.#cfg.requestTimeoutMs, s.log));
      if (client) releases.push(removeBridge(client, leg.bridgeId, this.#cfg.requestTimeoutMs, s.log));
    }
    await Promise.all(releases);
    this.#o.queueHandler?.onCallEnded(s.callId);
  }

  /** After every (re)connect: end calls that vanished, rebuild broken taps, remove orphans, adopt callers. */
  #reconcile(client: Client): Promise<void> {
    if (this.#reconciling) return this.#reconciling;
    this.#reconciling = this.#runReconcile(client).finally(() => {
      this.#reconciling = null;
    });
    return this.#reconciling;
  }

  async #runReconcile(client: Client): Promise<void> {
    const t = this.#cfg.requestTimeoutMs;
    // Only calls that existed before the listing can be judged by it: one arriving meanwhile is not "lost".
    const known = [...this.#sessions.values()].map((s) => ({ callId: s.callId, objects: s.objects() }));
    let channels: Channel[];
    let bridges: Array<{ id: string; channels: string[] }>;
    try {
      channels = await ariRequest('GET channels', '*', t, () => client.channels.list());
      bridges = (await ariRequest('GET bridges', '*', t, () => client.bridges.list())).map((b) => ({ id: b.id, channels: toArray(b.channels) }));
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'reconcile could not list channels and bridges; retrying on the next reconnect');
      return;
    }
    // The queue first: it keeps a caller's conversation with an agent, which the generic adoption would end.
    const queue = this.#o.queueHandler?.reconcile;
    const byQueue = queue
      ? await queue
          .call(this.#o.queueHandler, { channels: channels.map((c) => ({ id: c.id, name: c.name })), bridges })
          .catch((err: Error) => {
            this.#log.error({ err: err.message }, 'the built-in queue could not reconcile');
            return [];
          })
      : [];
    const plan = planReconcile(
      channels.map((c) => c.id),
      bridges.map((b) => b.id),
      known,
      this.#live,
      queue !== undefined,
    );
    const counts = {
      lost: plan.lost.length,
      broken: plan.broken.length,
      orphans: plan.deleteChannels.length + plan.deleteBridges.length,
      adopt: plan.adopt.length,
    };
    if (Object.values(counts).some((n) => n > 0) || known.length > 0) this.#log.info(counts, 'reconcile');
    await Promise.all(plan.lost.map((id) => this.#sessions.get(id)).map((s) => s?.call.end('gone after reconnect')));
    await this.#removeOwn(client, [...plan.deleteChannels, ...plan.deleteBridges]);
    for (const { callId } of known) {
      const s = this.#sessions.get(callId);
      if (!s) continue;
      void this.#subscribe(client, s);
      if (plan.broken.includes(s.callId)) {
        await s.tapping?.catch(() => undefined);
        const before = known.find((k) => k.callId === callId)!.objects;
        // The health loop may have replaced the tap meanwhile: only a tap the listing judged is rebuilt.
        if (s.ended || s.objects().join() !== before.join()) continue;
        s.log.warn('tap lost objects while we were disconnected: rebuilding it');
        if (s.tap) {
          const old = s.tap;
          s.tap = null;
          await this.#taps.teardown(old);
        }
        void this.#startTap(s);
      }
    }
    for (const a of byQueue) {
      const ch = channels.find((c) => c.id === a.callId);
      if (ch && !this.#sessions.has(a.callId)) await this.#adoptQueued(client, ch, a);
    }
    for (const callId of plan.adopt) {
      const ch = channels.find((c) => c.id === callId);
      if (ch && !this.#sessions.has(callId)) await this.#adopt(client, ch);
    }
    if (this.#firstReconcile) {
      this.#firstReconcile = false;
      const candidates = channels.filter((c) => parseOwnId(c.id) === null && !this.#sessions.has(c.id) && !/^(Snoop|UnicastRTP|Announcer|AudioSocket)\//.test(c.name));
      for (const ch of await this.#markedByUs(client, candidates)) if (!this.#sessions.has(ch.id)) await this.#adopt(client, ch);
    }
  }

  /** Callers a previous run of this app tapped (TAPPED_BY_VAR), read a few at a time: GET works outside Stasis. */
  async #markedByUs(client: Client, channels: Channel[]): Promise<Channel[]> {
    const marked: Channel[] = [];
    const queue = [...channels];
    const worker = async (): Promise<void> => {
      for (let ch = queue.shift(); ch; ch = queue.shift()) {
        const id = ch.id;
        try {
          const v = await ariRequest('GET variable', id, this.#cfg.requestTimeoutMs, () => client.channels.getChannelVar({ channelId: id, variable: TAPPED_BY_VAR }));
          if (v.value === this.#cfg.app) marked.push(ch);
        } catch {
          // 404: not marked (or gone)
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
    if (marked.length > 0) this.#log.info({ callers: marked.length }, `re-tapping callers a previous run had tapped (${TAPPED_BY_VAR})`);
    return marked;
  }

  /** A caller the built-in queue took over from an earlier run: tracked and tapped, left in Stasis. */
  async #adoptQueued(client: Client, channel: Channel, a: QueueAdoption): Promise<void> {
    const s = this.#openSession(client.Channel(channel.id, channel), 'queue', a.queue, a.phase);
    s.call.update({ mode: 'queue', queue: a.queue, phase: a.phase, ...(a.agent ? { agent: a.agent } : {}) });
    s.log.info({ queue: a.queue, phase: a.phase }, 're-adopting a queue caller of an earlier run');
    await this.#subscribe(client, s);
    await this.#startTap(s);
  }

  /** A caller an earlier run of ser-ari had tapped: track and tap it again. */
  async #adopt(client: Client, channel: Channel): Promise<void> {
    const app = channel.dialplan?.app_name ?? '';
    const inOurStasis = app === 'Stasis' && (channel.dialplan?.app_data ?? '').split(',')[0] === this.#cfg.app;
    const phase: CallPhase = /Queue/i.test(app) ? 'queued' : 'ivr';
    const s = this.#openSession(channel, 'monitor', null, phase);
    s.inStasis = inOurStasis;
    s.call.update({ inStasis: inOurStasis });
    s.log.info({ dialplanApp: app }, 're-adopting a caller tapped before the reconnect');
    await this.#subscribe(client, s);
    // Its queue state was lost with the previous run: the dialplan takes the caller on from Stasis().
    if (inOurStasis) await this.continueCall(s.callId);
    await this.#startTap(s);
  }

  async #removeOwn(client: Client, ids: string[]): Promise<void> {
    const t = this.#cfg.requestTimeoutMs;
    const isBridge = (id: string) => {
      const kind = parseOwnId(id)?.kind;
      return kind !== undefined && OWN_BRIDGE_KINDS.includes(kind);
    };
    const chans = ids.filter((id) => !isBridge(id));
    const bridges = ids.filter((id) => !chans.includes(id));
    for (const id of ids) this.#live.delete(id);
    await Promise.all(chans.map((id) => removeChannel(client, id, t, this.#log)));
    await Promise.all(bridges.map((id) => removeBridge(client, id, t, this.#log)));
  }
}

function toArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

async function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type { Tap };

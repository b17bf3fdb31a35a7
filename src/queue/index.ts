import type { Logger } from 'pino';
import { parseOwnId } from '../ari/ids.js';
import type { AsteriskListing, QueueAdmission, QueueAdoption, QueueHandler } from './handler.js';
import type { CallRegistry } from '../calls/registry.js';
import type { Config } from '../config/schema.js';
import { SerError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { PbxResult, PriorityChange } from '../pbx/types.js';
import type { QueueAri, QueueAriEvent } from './port.js';
import { PriorityQueue, type QueueSettings } from './queue.js';

export { AGENT_LEG_ARG0, AGENT_LEG_KIND, PriorityQueue, type QueueSettings } from './queue.js';
export type { QueueAri, QueueAriEvent } from './port.js';

/** CallControl.setPriority routes here first; null means "not in a built-in queue, try app_queue/QUEUE_PRIO". */
export interface QueuePriorityPort {
  setPriority(callId: string, change: PriorityChange): Promise<PbxResult> | null;
}

export interface QueueService extends QueueHandler, QueuePriorityPort {
  /** Reads agent endpoint states, subscribes to their changes, creates the holding bridges. */
  start(): Promise<void>;
  /** Ends every queue (see PriorityQueue.stop) and stops listening to ARI. */
  stop(): Promise<void>;
  /**
   * On every ARI (re)connect (the app's onConnected): requests and events go through the port the
   * getter returns now, and the start-up reads run again on it.
   */
  attach(): void;
  queue(name: string): PriorityQueue | undefined;
  /** True for a StasisStart of an agent leg the queue originated (never a new call). */
  isAgentLeg(channelId: string): boolean;
}

export interface CreateQueuesOptions {
  /**
   * The switch as the queue uses it: a QueueAri, or a getter of the current one (null while
   * disconnected; call attach() on each connect so events follow it). The ARI adapter builds it from
   * its ari-client instance (src/ari/queue-ari.ts, queueAriOf).
   */
  client: QueueAri | (() => QueueAri | null);
  /** The ARI app's live-object set (`() => app.live`), so it never removes our agent legs and bridges as orphans. */
  live?: () => Set<string> | undefined;
  /** The ARI app's continueCall (`(id) => app.continueCall(id)`): callers the queue hands back stay tracked and tapped. */
  continueCall?: (callId: string) => Promise<PbxResult>;
  config: Pick<Config, 'queues'>;
  registry: CallRegistry;
  bus: EventBus;
  logger: Logger;
  now?: () => number;
}

/** One PriorityQueue per configured queue, behind the ARI app's QueueHandler and the PBX's priority port. */
export function createQueues(opts: CreateQueuesOptions): QueueService {
  const source = opts.client;
  const resolve: () => QueueAri | null = typeof source === 'function' ? source : () => source;
  // A client that appears later (getter) or anew (reconnect, attach) gets the start-up reads again:
  // endpoint states and subscriptions belong to one connection.
  let starting: Promise<void> | null = null;
  const startAll = (): Promise<void> =>
    (starting ??= (async () => {
      try {
        await removeLeftovers(ari, opts.logger, (id) => [...queues.values()].some((q) => q.ownsBridge(id)));
        await Promise.all([...queues.values()].map((q) => q.start()));
      } finally {
        starting = null;
      }
    })());
  const ari = new SwitchableAri(resolve, () => void startAll());
  const queues = new Map<string, PriorityQueue>();
  for (const q of opts.config.queues as QueueSettings[]) {
    queues.set(
      q.name,
      new PriorityQueue(q, {
        ari,
        registry: opts.registry,
        bus: opts.bus,
        logger: opts.logger,
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.live ? { live: opts.live } : {}),
        ...(opts.continueCall ? { continueCall: opts.continueCall } : {}),
      }),
    );
  }
  const legs = new Set<string>();
  const unsubscribe = ari.onEvent((e: QueueAriEvent) => {
    if (e.type === 'StasisStart' && e.args[0] === 'ser-own' && e.args[1] === 'queue-agent') legs.add(e.channelId);
    if (e.type === 'ChannelDestroyed') legs.delete(e.channelId);
    for (const q of queues.values()) {
      try {
        q.handleEvent(e);
      } catch (err) {
        // A state the queue did not expect (e.g. an event for a leg it no longer tracks) must not end the process.
        opts.logger.error({ queue: q.name, event: e.type, err: (err as Error).message }, 'the queue could not handle an ARI event');
      }
    }
  });
  ari.arm();
  const find = (callId: string) => [...queues.values()].find((q) => q.has(callId));

  return {
    async start() {
      await startAll();
    },
    async stop() {
      await Promise.allSettled([...queues.values()].map((q) => q.stop()));
      unsubscribe();
    },
    attach() {
      ari.refresh();
    },
    queue(name) {
      return queues.get(name);
    },
    isAgentLeg(channelId) {
      return legs.has(channelId) || channelId.startsWith('ser-qagent-');
    },
    async admit(call: QueueAdmission) {
      const q = queues.get(call.queue);
      if (!q) {
        throw new SerError('QUEUE_UNKNOWN', `no queue "${call.queue}" is configured (queues: ${[...queues.keys()].join(', ') || 'none'}) [id:${call.callId}]`);
      }
      await q.admit(call.callId, call.channel?.state);
    },
    onCallEnded(callId) {
      find(callId)?.callerEnded(callId);
    },
    async reconcile(listing) {
      ari.refresh();
      return reconcileQueues(listing, queues, ari, opts.live?.(), opts.logger);
    },
    setPriority(callId, change) {
      const result = find(callId)?.setPriority(callId, change);
      return result ? Promise.resolve(result) : null;
    },
  };
}

/**
 * After a (re)connect. Bridges Asterisk lost are forgotten. What an earlier run of ser-ari left is taken
 * over: a caller talking to an agent keeps talking (the queue watches the conversation end), callers
 * waiting in an old holding bridge move into ours by priority, and what is left of half a conversation
 * ends (an agent leg alone is hung up, a caller alone goes back to the dialplan as COMPLETED).
 */
async function reconcileQueues(
  listing: AsteriskListing,
  queues: Map<string, PriorityQueue>,
  ari: QueueAri,
  live: ReadonlySet<string> | undefined,
  logger: Logger,
): Promise<QueueAdoption[]> {
  const present = new Set([...listing.channels.map((c) => c.id), ...listing.bridges.map((b) => b.id)]);
  for (const q of queues.values()) q.forgetGoneBridges(present);
  const names = new Map(listing.channels.map((c) => [c.id, c.name]));
  const isLeftover = (id: string) => !live?.has(id) && ![...queues.values()].some((q) => q.ownsBridge(id));
  const strayLegs = new Set(listing.channels.filter((c) => parseOwnId(c.id)?.kind === 'qagent' && isLeftover(c.id)).map((c) => c.id));
  const adopted: QueueAdoption[] = [];
  const log = logger.child({ component: 'queue' });
  // Conversations first: the agents in them are busy before any waiting caller makes us ring one.
  const order = (id: string) => (parseOwnId(id)?.kind === 'qcall' ? 0 : 1);
  for (const b of [...listing.bridges].sort((x, y) => order(x.id) - order(y.id))) {
    const own = parseOwnId(b.id);
    if ((own?.kind !== 'qcall' && own?.kind !== 'qhold') || !isLeftover(b.id)) continue;
    // bridge.channels can name channels that no longer exist (the MOH announcer's half, recording 10)
    const members = b.channels.filter((id) => names.has(id));
    const callers = members.filter((id) => parseOwnId(id) === null);
    try {
      if (own.kind === 'qcall') {
        const legId = members.find((id) => parseOwnId(id)?.kind === 'qagent');
        const q = legId ? queues.get(parseOwnId(legId)!.callId) : undefined;
        const callId = callers[0];
        if (q && legId && callId) {
          strayLegs.delete(legId);
          const agent = q.adoptConversation(callId, legId, names.get(legId)!, b.id);
          adopted.push({ callId, queue: q.name, phase: 'agent', agent });
          continue;
        }
        for (const id of callers) await returnServed(ari, id);
        log.info({ bridgeId: b.id, callers }, 'an earlier run left half a conversation: removed');
      } else {
        const q = queues.get(own.callId);
        for (const callId of callers) {
          if (!q) {
            await returnServed(ari, callId, 'SHUTDOWN');
            continue;
          }
          await q.adoptWaiting(callId, b.id);
          adopted.push({ callId, queue: q.name, phase: 'queued' });
        }
        if (callers.length > 0) log.info({ bridgeId: b.id, callers, queue: own.callId }, 'took over callers an earlier run left waiting');
      }
      await ari.destroyBridge(b.id).catch(() => undefined);
    } catch (err) {
      log.warn({ bridgeId: b.id, err: (err as Error).message }, 'cannot take over a queue bridge of an earlier run');
    }
  }
  for (const id of strayLegs) {
    await ari.hangup(id, 'normal').catch(() => undefined);
    log.info({ channelId: id }, 'hung up an agent leg an earlier run left');
  }
  return adopted;
}

/** A caller whose conversation ended while no ser-ari watched it: back to the dialplan, as the queue would. */
async function returnServed(ari: QueueAri, callId: string, status: 'COMPLETED' | 'SHUTDOWN' = 'COMPLETED'): Promise<void> {
  await ari.setVariable(callId, 'SER_QUEUESTATUS', status).catch(() => undefined);
  if (status === 'COMPLETED') await ari.setVariable(callId, 'SER_QUEUE_DONE', '1').catch(() => undefined);
  await ari.continueInDialplan(callId).catch(() => undefined);
}

/**
 * Empty queue bridges of an earlier run (a crash leaves them: Asterisk keeps bridges until deleted).
 * Bridges that still hold channels are left alone: someone is talking or waiting in them.
 */
async function removeLeftovers(ari: QueueAri, logger: Logger, ours: (bridgeId: string) => boolean): Promise<void> {
  try {
    const bridges = await ari.listBridges();
    for (const b of bridges) {
      if (!/^ser-q(hold|call)-/.test(b.id) || ours(b.id)) continue;
      if (b.channels.length > 0) {
        logger.warn({ bridgeId: b.id, channels: b.channels }, 'a queue bridge of an earlier run still holds channels; left alone');
        continue;
      }
      await ari.destroyBridge(b.id).catch(() => undefined);
      logger.info({ bridgeId: b.id }, 'removed an empty queue bridge left by an earlier run');
    }
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'cannot list bridges to remove leftovers');
  }
}

/** Forwards to the current port; event listeners move with it when the ARI app reconnects with a new client. */
class SwitchableAri implements QueueAri {
  #resolve: () => QueueAri | null;
  #wired: QueueAri | null = null;
  #armed = false;
  readonly #onRewired: () => void;
  readonly #listeners = new Map<(e: QueueAriEvent) => void, (() => void) | null>();

  /** `onRewired` runs whenever a client is wired after arm() (before it, start() does that work). */
  constructor(resolve: () => QueueAri | null, onRewired: () => void) {
    this.#resolve = resolve;
    this.#onRewired = onRewired;
  }

  /** Moves the event listeners to the current client when it changed. */
  refresh(): QueueAri | null {
    const target = this.#resolve();
    if (target === this.#wired) return target;
    for (const [listener, off] of this.#listeners) {
      off?.();
      this.#listeners.set(listener, target ? target.onEvent(listener) : null);
    }
    this.#wired = target;
    if (target && this.#armed) queueMicrotask(this.#onRewired);
    return target;
  }

  arm(): void {
    this.#armed = true;
  }

  onEvent(listener: (e: QueueAriEvent) => void): () => void {
    const target = this.refresh();
    this.#listeners.set(listener, target ? target.onEvent(listener) : null);
    return () => {
      this.#listeners.get(listener)?.();
      this.#listeners.delete(listener);
    };
  }

  #t(): QueueAri {
    const target = this.refresh();
    if (!target) throw new Error('not connected to Asterisk (ARI)');
    return target;
  }

  originate: QueueAri['originate'] = async (p) => this.#t().originate(p);
  hangup: QueueAri['hangup'] = async (id, reason) => this.#t().hangup(id, reason);
  answer: QueueAri['answer'] = async (id) => this.#t().answer(id);
  createBridge: QueueAri['createBridge'] = async (p) => this.#t().createBridge(p);
  destroyBridge: QueueAri['destroyBridge'] = async (id) => this.#t().destroyBridge(id);
  listBridges: QueueAri['listBridges'] = async () => this.#t().listBridges();
  startMoh: QueueAri['startMoh'] = async (id, moh) => this.#t().startMoh(id, moh);
  addChannels: QueueAri['addChannels'] = async (id, chans) => this.#t().addChannels(id, chans);
  removeChannel: QueueAri['removeChannel'] = async (id, chan) => this.#t().removeChannel(id, chan);
  continueInDialplan: QueueAri['continueInDialplan'] = async (id) => this.#t().continueInDialplan(id);
  setVariable: QueueAri['setVariable'] = async (id, n, v) => this.#t().setVariable(id, n, v);
  getVariable: QueueAri['getVariable'] = async (id, n) => this.#t().getVariable(id, n);
  endpointState: QueueAri['endpointState'] = async (e) => this.#t().endpointState(e);
  subscribeEndpoints: QueueAri['subscribeEndpoints'] = async (e) => this.#t().subscribeEndpoints(e);
}

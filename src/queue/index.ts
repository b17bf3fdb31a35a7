import type { Client } from 'ari-client';
import type { Logger } from 'pino';
import type { QueueAdmission, QueueHandler } from '../ari/queue-handler.js';
import type { CallRegistry } from '../calls/registry.js';
import type { Config } from '../config/schema.js';
import { SerError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { PbxResult, PriorityChange } from '../pbx/types.js';
import { ariClientPort, type QueueAri, type QueueAriEvent } from './ari-port.js';
import { PriorityQueue, type QueueSettings } from './queue.js';

export { AGENT_LEG_ARG0, AGENT_LEG_KIND, PriorityQueue, type QueueSettings } from './queue.js';
export { ariClientPort, type QueueAri, type QueueAriEvent } from './ari-port.js';

/** CallControl.setPriority routes here first; null means "not in a built-in queue, try app_queue/QUEUE_PRIO". */
export interface QueuePriorityPort {
  setPriority(callId: string, change: PriorityChange): Promise<PbxResult> | null;
}

export interface QueueService extends QueueHandler, QueuePriorityPort {
  /** Reads agent endpoint states, subscribes to their changes, creates the holding bridges. */
  start(): Promise<void>;
  /** Ends every queue (see PriorityQueue.stop) and stops listening to ARI. */
  stop(): Promise<void>;
  /** After an ARI reconnect with a new ari-client instance: requests and events go through it. */
  attach(client: Client): void;
  queue(name: string): PriorityQueue | undefined;
  /** True for a StasisStart of an agent leg the queue originated (never a new call). */
  isAgentLeg(channelId: string): boolean;
}

export interface CreateQueuesOptions {
  /** The connected ari-client instance the ARI app uses (or any QueueAri, e.g. in tests). */
  client: Client | QueueAri;
  config: Pick<Config, 'queues'> & { ari: Pick<Config['ari'], 'app'> };
  registry: CallRegistry;
  bus: EventBus;
  logger: Logger;
  now?: () => number;
}

/** One PriorityQueue per configured queue, behind the ARI app's QueueHandler and the PBX's priority port. */
export function createQueues(opts: CreateQueuesOptions): QueueService {
  const app = opts.config.ari.app;
  const toPort = (c: Client | QueueAri): QueueAri => (isQueueAri(c) ? c : ariClientPort(c, app));
  const ari = new SwitchableAri(toPort(opts.client));
  const queues = new Map<string, PriorityQueue>();
  for (const q of opts.config.queues as QueueSettings[]) {
    queues.set(q.name, new PriorityQueue(q, { ari, registry: opts.registry, bus: opts.bus, logger: opts.logger, ...(opts.now ? { now: opts.now } : {}) }));
  }
  const legs = new Set<string>();
  const unsubscribe = ari.onEvent((e: QueueAriEvent) => {
    if (e.type === 'StasisStart' && e.args[0] === 'ser-own' && e.args[1] === 'queue-agent') legs.add(e.channelId);
    if (e.type === 'ChannelDestroyed') legs.delete(e.channelId);
    for (const q of queues.values()) q.handleEvent(e);
  });
  const find = (callId: string) => [...queues.values()].find((q) => q.has(callId));

  return {
    async start() {
      await Promise.all([...queues.values()].map((q) => q.start()));
    },
    async stop() {
      await Promise.allSettled([...queues.values()].map((q) => q.stop()));
      unsubscribe();
    },
    attach(client) {
      ari.switchTo(toPort(client));
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
    setPriority(callId, change) {
      const result = find(callId)?.setPriority(callId, change);
      return result ? Promise.resolve(result) : null;
    },
  };
}

function isQueueAri(c: Client | QueueAri): c is QueueAri {
  return typeof (c as QueueAri).onEvent === 'function' && typeof (c as QueueAri).addChannels === 'function';
}

/** Forwards to the current port; event listeners move with it on a reconnect. */
class SwitchableAri implements QueueAri {
  #target: QueueAri;
  readonly #listeners = new Map<(e: QueueAriEvent) => void, () => void>();

  constructor(target: QueueAri) {
    this.#target = target;
  }

  switchTo(target: QueueAri): void {
    for (const [listener, off] of this.#listeners) {
      off();
      this.#listeners.set(listener, target.onEvent(listener));
    }
    this.#target = target;
  }

  onEvent(listener: (e: QueueAriEvent) => void): () => void {
    this.#listeners.set(listener, this.#target.onEvent(listener));
    return () => {
      this.#listeners.get(listener)?.();
      this.#listeners.delete(listener);
    };
  }

  originate: QueueAri['originate'] = (p) => this.#target.originate(p);
  hangup: QueueAri['hangup'] = (id, reason) => this.#target.hangup(id, reason);
  answer: QueueAri['answer'] = (id) => this.#target.answer(id);
  createBridge: QueueAri['createBridge'] = (p) => this.#target.createBridge(p);
  destroyBridge: QueueAri['destroyBridge'] = (id) => this.#target.destroyBridge(id);
  listBridges: QueueAri['listBridges'] = () => this.#target.listBridges();
  startMoh: QueueAri['startMoh'] = (id, moh) => this.#target.startMoh(id, moh);
  addChannels: QueueAri['addChannels'] = (id, chans) => this.#target.addChannels(id, chans);
  removeChannel: QueueAri['removeChannel'] = (id, chan) => this.#target.removeChannel(id, chan);
  continueInDialplan: QueueAri['continueInDialplan'] = (id) => this.#target.continueInDialplan(id);
  setVariable: QueueAri['setVariable'] = (id, n, v) => this.#target.setVariable(id, n, v);
  getVariable: QueueAri['getVariable'] = (id, n) => this.#target.getVariable(id, n);
  endpointState: QueueAri['endpointState'] = (e) => this.#target.endpointState(e);
  subscribeEndpoints: QueueAri['subscribeEndpoints'] = (e) => this.#target.subscribeEndpoints(e);
}

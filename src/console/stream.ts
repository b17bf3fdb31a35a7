import type { Logger } from 'pino';
import type { CallRegistry } from '../calls/registry.js';
import type { EventBus } from '../events/bus.js';
import { EVENT_SCHEMA_VERSION, type SerEvent } from '../events/types.js';
import type { Metrics } from '../metrics/metrics.js';
import { BoundedQueue } from './bounded-queue.js';
import { callSnapshots, type CallViews } from './call-view.js';
import { CompiledFilter, type StreamFilter } from './filter.js';

export type Transport = 'ws' | 'sse';

/** One consumer's connection, as the hub writes to it. */
export interface Sink {
  readonly transport: Transport;
  /** Writes one message; false when the transport is backed up: the hub stops writing until `onReady`. */
  write(message: string): boolean;
  /** Calls `ready` once, when the transport can take more. */
  onReady(ready: () => void): void;
  /** Ends the connection at once (a consumer that stopped reading); its 'close' detaches it. */
  close(): void;
}

export interface ConsumerStats {
  id: number;
  transport: Transport;
  filter: StreamFilter;
  connectedAt: string;
  queued: number;
  delivered: number;
  dropped: number;
}

class Consumer {
  readonly id: number;
  readonly sink: Sink;
  readonly filter: CompiledFilter;
  readonly connectedAt = new Date().toISOString();
  readonly queue: BoundedQueue<string>;
  /** Events queued beyond this are dropped. */
  readonly limit: number;
  delivered = 0;
  dropped = 0;
  /** Drops not yet reported to the consumer with a `gap` message. */
  unreported = 0;
  scheduled = false;
  blocked = false;
  /** performance.now() when the transport last backed up. */
  blockedAt = 0;
  closed = false;

  constructor(id: number, sink: Sink, filter: CompiledFilter, capacity: number) {
    this.id = id;
    this.sink = sink;
    this.filter = filter;
    this.limit = capacity;
    // One extra slot so a gap notice always fits ahead of the next accepted event.
    this.queue = new BoundedQueue<string>(capacity + 1);
  }
}

export interface EventStreamOptions extends CallViews {
  bus: EventBus;
  registry: CallRegistry;
  metrics: Metrics;
  logger: Logger;
  /** Events buffered per consumer before new ones are dropped for it. */
  capacity?: number;
  /** A consumer whose transport stays backed up this long is disconnected (default 60 s). */
  stallTimeoutMs?: number;
}

/**
 * Fans the bus out to WebSocket and SSE consumers. The publisher's cost per event is one filter test
 * and one queue push per consumer (the JSON is built once, and only if someone wants the event);
 * writing happens later, from setImmediate. A consumer whose socket is not draining stops being
 * written to; its queue fills and further events are dropped for it alone, counted, and reported to it
 * by a `gap` message once it catches up. Nothing here ever waits on a consumer.
 */
export class EventStream {
  readonly #opts: EventStreamOptions;
  readonly #capacity: number;
  readonly #consumers = new Map<number, Consumer>();
  /** The queue of each live call, for the queue filter on events that do not carry one. */
  readonly #queueOf = new Map<string, string | null>();
  readonly #unsubscribe: () => void;
  readonly #stallMs: number;
  readonly #stallTimer: NodeJS.Timeout;
  #nextId = 1;

  constructor(opts: EventStreamOptions) {
    this.#opts = opts;
    this.#capacity = opts.capacity ?? 1000;
    this.#stallMs = opts.stallTimeoutMs ?? 60_000;
    for (const c of opts.registry.list()) this.#queueOf.set(c.callId, c.queue);
    this.#unsubscribe = opts.bus.subscribe((e) => this.#publish(e));
    // A consumer that never reads holds its socket's buffers (and a queue of ours) for as long as it
    // stays connected; past the stall timeout it is cut off, and a live page reconnects by itself.
    this.#stallTimer = setInterval(() => this.#dropStalled(), Math.max(20, this.#stallMs / 4));
    this.#stallTimer.unref();
  }

  get size(): number {
    return this.#consumers.size;
  }

  /** Registers a consumer and queues its hello snapshot. Returns the detach function. */
  attach(sink: Sink, spec: StreamFilter): { id: number; detach: () => void } {
    const id = this.#nextId++;
    const filter = new CompiledFilter(spec);
    const consumer = new Consumer(id, sink, filter, this.#capacity);
    consumer.queue.push(JSON.stringify(this.#hello(filter)));
    this.#consumers.set(id, consumer);
    this.#opts.metrics.eventStreamConsumers.labels(sink.transport).inc();
    this.#opts.logger.debug({ consumer: id, transport: sink.transport, filter: spec }, 'event-stream consumer connected');
    this.#schedule(consumer);
    return { id, detach: () => this.#detach(consumer) };
  }

  stats(): ConsumerStats[] {
    return [...this.#consumers.values()].map((c) => ({
      id: c.id,
      transport: c.sink.transport,
      filter: c.filter.spec,
      connectedAt: c.connectedAt,
      queued: c.queue.length,
      delivered: c.delivered,
      dropped: c.dropped,
    }));
  }

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#stallTimer);
    for (const c of [...this.#consumers.values()]) this.#detach(c);
  }

  #dropStalled(): void {
    const now = performance.now();
    for (const c of [...this.#consumers.values()]) {
      if (!c.blocked || now - c.blockedAt < this.#stallMs) continue;
      this.#opts.logger.info({ consumer: c.id, transport: c.sink.transport, stalledMs: Math.round(now - c.blockedAt), dropped: c.dropped }, 'event-stream consumer stopped reading: disconnected');
      this.#opts.metrics.eventStreamStalled.labels(c.sink.transport).inc();
      this.#detach(c);
      try {
        c.sink.close();
      } catch {
        // already gone
      }
    }
  }

  #hello(filter: CompiledFilter): object {
    const calls = callSnapshots(this.#opts, (c) => filter.includesCall(c.callId, c.queue));
    return {
      type: 'hello',
      version: EVENT_SCHEMA_VERSION,
      ts: new Date().toISOString(),
      filter: filter.spec,
      calls,
      pending: calls.flatMap((c) => c.pending),
    };
  }

  #detach(c: Consumer): void {
    if (c.closed) return;
    c.closed = true;
    c.queue.clear();
    this.#consumers.delete(c.id);
    this.#opts.metrics.eventStreamConsumers.labels(c.sink.transport).dec();
    this.#opts.logger.debug({ consumer: c.id, transport: c.sink.transport, delivered: c.delivered, dropped: c.dropped }, 'event-stream consumer left');
  }

  #publish(event: SerEvent): void {
    const queueOfCall = this.#trackQueue(event);
    let json: string | null = null;
    for (const c of this.#consumers.values()) {
      if (!c.filter.matches(event, queueOfCall)) continue;
      if (c.queue.length >= c.limit) {
        c.dropped++;
        c.unreported++;
        this.#opts.metrics.eventStreamDrops.labels(c.sink.transport).inc();
        continue;
      }
      if (c.unreported > 0) {
        c.queue.push(JSON.stringify({ type: 'gap', version: EVENT_SCHEMA_VERSION, ts: event.ts, dropped: c.unreported }));
        c.unreported = 0;
      }
      c.queue.push((json ??= JSON.stringify(event)));
      this.#schedule(c);
    }
  }

  /** Keeps the call → queue map current; returns the call's queue as of this event. */
  #trackQueue(event: SerEvent): string | null {
    switch (event.type) {
      case 'call.started':
      case 'call.phase':
        this.#queueOf.set(event.callId, event.queue);
        return event.queue;
      case 'queue.position':
        this.#queueOf.set(event.callId, event.queue);
        return event.queue;
      case 'call.ended': {
        const q = this.#queueOf.get(event.callId) ?? null;
        this.#queueOf.delete(event.callId);
        return q;
      }
      default: {
        const q = this.#queueOf.get(event.callId);
        return q !== undefined ? q : (this.#opts.registry.get(event.callId)?.queue ?? null);
      }
    }
  }

  #schedule(c: Consumer): void {
    if (c.scheduled || c.blocked || c.closed) return;
    c.scheduled = true;
    setImmediate(() => this.#flush(c));
  }

  #flush(c: Consumer): void {
    c.scheduled = false;
    while (!c.closed && c.queue.length > 0) {
      const message = c.queue.shift()!;
      c.delivered++;
      let ok: boolean;
      try {
        ok = c.sink.write(message);
      } catch (err) {
        this.#opts.logger.warn({ consumer: c.id, err: (err as Error).message }, 'event-stream write failed: consumer dropped');
        this.#detach(c);
        return;
      }
      if (!ok) {
        c.blocked = true;
        c.blockedAt = performance.now();
        c.sink.onReady(() => {
          c.blocked = false;
          this.#schedule(c);
        });
        return;
      }
    }
  }
}

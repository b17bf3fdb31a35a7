import { EventEmitter } from 'eventemitter3';
import { EVENT_SCHEMA_VERSION, type SerEvent, type SerEventInput } from './types.js';

interface BusEvents {
  event: [event: SerEvent];
}

/**
 * The in-process event stream. Producers publish; the console, metrics and logs subscribe.
 * Listeners run synchronously on the publisher's thread, so they must only enqueue (the console
 * keeps a bounded buffer per consumer): nothing here may slow the audio path.
 */
export class EventBus {
  readonly #emitter = new EventEmitter<BusEvents>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  publish(input: SerEventInput): SerEvent {
    const event = { ...input, version: EVENT_SCHEMA_VERSION, ts: this.#now().toISOString() } as SerEvent;
    this.#emitter.emit('event', event);
    return event;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (event: SerEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  get listenerCount(): number {
    return this.#emitter.listenerCount('event');
  }
}

import type { SerEvent } from '../events/types.js';

/** A consumer's selection: null means "all"; several values are OR-ed, the three fields AND-ed. */
export interface StreamFilter {
  callId: string[] | null;
  queue: string[] | null;
  /** Event types, or prefixes ending in "." (e.g. "call." for call.started, call.ended, call.phase). */
  type: string[] | null;
}

export const NO_FILTER: StreamFilter = { callId: null, queue: null, type: null };

/** `?callId=a,b&queue=support&type=emotion,call.` (repeated parameters are merged). */
export function parseFilter(params: URLSearchParams): StreamFilter {
  const list = (name: string): string[] | null => {
    const values = params
      .getAll(name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v.length > 0);
    return values.length > 0 ? [...new Set(values)] : null;
  };
  // "call.*" is accepted as a spelling of the prefix "call.".
  const type = list('type')?.map((t) => (t.endsWith('.*') ? t.slice(0, -1) : t)) ?? null;
  return { callId: list('callId'), queue: list('queue'), type };
}

/** A filter compiled for the publisher's hot loop: set lookups, no allocation per event. */
export class CompiledFilter {
  readonly spec: StreamFilter;
  readonly #calls: Set<string> | null;
  readonly #queues: Set<string> | null;
  readonly #types: Set<string> | null;
  readonly #prefixes: string[];

  constructor(spec: StreamFilter) {
    this.spec = spec;
    this.#calls = spec.callId ? new Set(spec.callId) : null;
    this.#queues = spec.queue ? new Set(spec.queue) : null;
    this.#types = spec.type ? new Set(spec.type.filter((t) => !t.endsWith('.'))) : null;
    this.#prefixes = spec.type?.filter((t) => t.endsWith('.')) ?? [];
  }

  /** `queueOfCall` is the call's current queue, for events that do not carry one themselves. */
  matches(event: SerEvent, queueOfCall: string | null): boolean {
    if (this.#calls && !this.#calls.has(event.callId)) return false;
    if (this.#types && !this.#types.has(event.type) && !this.#prefixes.some((p) => event.type.startsWith(p))) return false;
    if (this.#queues) {
      const queue = 'queue' in event && event.queue !== null ? event.queue : queueOfCall;
      if (queue === null || !this.#queues.has(queue)) return false;
    }
    return true;
  }

  /** For the hello snapshot: whether a live call is within the filter's calls and queues. */
  includesCall(callId: string, queue: string | null): boolean {
    if (this.#calls && !this.#calls.has(callId)) return false;
    if (this.#queues && (queue === null || !this.#queues.has(queue))) return false;
    return true;
  }
}

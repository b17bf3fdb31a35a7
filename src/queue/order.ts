/** One caller waiting in a queue. `seq` breaks ties between callers enqueued in the same millisecond. */
export interface WaitingEntry {
  callId: string;
  priority: number;
  enqueuedAt: number;
  seq: number;
}

export interface PositionChange {
  callId: string;
  /** 1-based; the caller served next is at position 1. */
  position: number;
  priority: number;
}

/**
 * Callers waiting in one queue, served highest priority first, then longest waiting.
 * Pure: the caller supplies the clock, nothing here touches the switch. A priority change
 * re-sorts at once; a caller put back after a failed connection keeps its original enqueue time,
 * so it returns to the place it had.
 *
 *   [ prio 9, t=5 ] [ prio 9, t=7 ] [ prio 0, t=1 ] [ prio 0, t=2 ]
 *     position 1      position 2      position 3      position 4
 */
export class WaitingList {
  readonly #entries: WaitingEntry[] = [];
  #seq = 0;
  /** What each caller was last told (position + priority), to report only real changes. */
  readonly #reported = new Map<string, { position: number; priority: number }>();

  get size(): number {
    return this.#entries.length;
  }

  has(callId: string): boolean {
    return this.#entries.some((e) => e.callId === callId);
  }

  get(callId: string): WaitingEntry | undefined {
    return this.#entries.find((e) => e.callId === callId);
  }

  /** Adds a caller; an existing entry (re-admission) keeps its place. */
  add(callId: string, priority: number, enqueuedAt: number): WaitingEntry {
    const existing = this.get(callId);
    if (existing) return existing;
    const entry: WaitingEntry = { callId, priority, enqueuedAt, seq: this.#seq++ };
    this.#insert(entry);
    return entry;
  }

  /** Puts back an entry taken with shift()/remove(), at the place its priority and age give it. */
  restore(entry: WaitingEntry): void {
    if (this.has(entry.callId)) return;
    this.#insert({ ...entry });
  }

  remove(callId: string): WaitingEntry | undefined {
    const i = this.#entries.findIndex((e) => e.callId === callId);
    if (i < 0) return undefined;
    const [entry] = this.#entries.splice(i, 1);
    this.#reported.delete(callId);
    return entry;
  }

  /** The caller to serve next, removed from the list. */
  shift(): WaitingEntry | undefined {
    const entry = this.#entries.shift();
    if (entry) this.#reported.delete(entry.callId);
    return entry;
  }

  peek(): WaitingEntry | undefined {
    return this.#entries[0];
  }

  /** Sets a waiting caller's priority and moves it at once; returns the new priority, or undefined when not waiting. */
  setPriority(callId: string, priority: number): number | undefined {
    const entry = this.remove(callId);
    if (!entry) return undefined;
    entry.priority = priority;
    this.#insert(entry);
    return priority;
  }

  /** 1-based position, or 0 when the caller is not waiting. */
  positionOf(callId: string): number {
    return this.#entries.findIndex((e) => e.callId === callId) + 1;
  }

  list(): readonly WaitingEntry[] {
    return this.#entries;
  }

  /** Callers whose position or priority differs from what was last reported; marks them reported. */
  changes(): PositionChange[] {
    const out: PositionChange[] = [];
    this.#entries.forEach((e, i) => {
      const last = this.#reported.get(e.callId);
      const position = i + 1;
      if (last && last.position === position && last.priority === e.priority) return;
      this.#reported.set(e.callId, { position, priority: e.priority });
      out.push({ callId: e.callId, position, priority: e.priority });
    });
    return out;
  }

  #insert(entry: WaitingEntry): void {
    // Insertion by binary search keeps the list sorted and the sort stable (seq is unique).
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comesBefore(this.#entries[mid]!, entry)) lo = mid + 1;
      else hi = mid;
    }
    this.#entries.splice(lo, 0, entry);
  }
}

function comesBefore(a: WaitingEntry, b: WaitingEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.enqueuedAt !== b.enqueuedAt) return a.enqueuedAt < b.enqueuedAt;
  return a.seq < b.seq;
}

/*
 * The free ports are a FIFO ring over one Int32Array: acquire() takes from the head, release() appends
 * at the tail. A port just released is therefore handed out again only after every other free port,
 * so stray packets still in flight to an ended call hit a closed socket, not the next call.
 *
 *   queue: | held/stale | head -> free, least recently released ... most recently released | stale |
 *            (head + free) % size is where the next release goes
 */

/** The local UDP ports for per-call RTP sockets (`SER_RTP_PORTS`). Pure bookkeeping: binds nothing. */
export class PortPool {
  readonly min: number;
  readonly max: number;
  readonly #queue: Int32Array;
  readonly #held: Uint8Array;
  #head = 0;
  #free: number;

  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new RangeError(`invalid port range ${min}-${max}: expected integers with 1 <= min <= max <= 65535`);
    }
    this.min = min;
    this.max = max;
    const size = max - min + 1;
    this.#queue = Int32Array.from({ length: size }, (_, i) => min + i);
    this.#held = new Uint8Array(size);
    this.#free = size;
  }

  get size(): number {
    return this.#queue.length;
  }

  get free(): number {
    return this.#free;
  }

  get inUse(): number {
    return this.size - this.#free;
  }

  /** True when `port` has been acquired and not released. */
  isHeld(port: number): boolean {
    return Number.isInteger(port) && port >= this.min && port <= this.max && this.#held[port - this.min] === 1;
  }

  /** The free port released least recently (never-used ports first, in order), or null when all are held. */
  acquire(): number | null {
    if (this.#free === 0) return null;
    const port = this.#queue[this.#head]!;
    this.#head = (this.#head + 1) % this.size;
    this.#free--;
    this.#held[port - this.min] = 1;
    return port;
  }

  /**
   * Returns a port to the back of the queue. Idempotent: releasing a port that is already free does
   * nothing (a double release cannot hand one port to two calls). A port outside the range is a bug
   * (wrong pool, corrupted number): RangeError.
   */
  release(port: number): void {
    if (!Number.isInteger(port) || port < this.min || port > this.max) {
      throw new RangeError(`port ${port} is not in this pool's range ${this.min}-${this.max}`);
    }
    if (this.#held[port - this.min] === 0) return;
    this.#held[port - this.min] = 0;
    this.#queue[(this.#head + this.#free) % this.size] = port;
    this.#free++;
  }
}

/** Parses a port range such as `40000-40999` (the `SER_RTP_PORTS` form); a single port `40000` is a range of one. */
export function parsePortRange(range: string): { min: number; max: number } {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(range);
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || min < 1 || max > 65535 || min > max) {
    throw new RangeError(`invalid port range ${JSON.stringify(range)}: expected MIN-MAX with 1 <= MIN <= MAX <= 65535, e.g. 40000-40999`);
  }
  return { min, max };
}

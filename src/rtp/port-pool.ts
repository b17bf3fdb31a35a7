/**
 * The local UDP ports for per-call RTP sockets. Ports come back to the end of the queue, so a port
 * just freed is reused last: stray packets of the call that had it fall on a closed socket, not a new call.
 */
export class PortPool {
  readonly min: number;
  readonly max: number;
  readonly #queue: Int32Array;
  readonly #held: Uint8Array;
  #head = 0;
  #free: number;

  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new RangeError(`invalid port range ${min}-${max}`);
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

  /** The least recently released free port, or null when all are in use. */
  acquire(): number | null {
    if (this.#free === 0) return null;
    const port = this.#queue[this.#head]!;
    this.#head = (this.#head + 1) % this.size;
    this.#free--;
    this.#held[port - this.min] = 1;
    return port;
  }

  /** Returns a port; releasing one that is not held is a no-op, one outside the range a bug. */
  release(port: number): void {
    if (!Number.isInteger(port) || port < this.min || port > this.max) throw new RangeError(`port ${port} is not in ${this.min}-${this.max}`);
    if (!this.#held[port - this.min]) return;
    this.#held[port - this.min] = 0;
    this.#queue[(this.#head + this.#free) % this.size] = port;
    this.#free++;
  }
}

export function parsePortRange(range: string): { min: number; max: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(range.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2]) : NaN;
  if (!m || min < 1 || max > 65535 || min > max) throw new RangeError(`invalid port range "${range}": expected e.g. 40000-40999`);
  return { min, max };
}

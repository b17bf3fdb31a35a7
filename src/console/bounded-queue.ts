/*
 * A fixed-capacity FIFO over one array, indexed by mask: push at tail, shift at head, never resized.
 *
 *   slots: | free | head -> oldest ... newest | free |     (head + length) & mask is the next push
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  readonly #slots: (T | undefined)[];
  readonly #mask: number;
  #head = 0;
  #length = 0;

  /** Holds at least `capacity` items (rounded up to a power of two for the mask; `capacity` still bounds it). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    let size = 1;
    while (size < capacity) size <<= 1;
    this.#slots = new Array<T | undefined>(size);
    this.#mask = size - 1;
  }

  get length(): number {
    return this.#length;
  }

  get full(): boolean {
    return this.#length >= this.capacity;
  }

  /** False (and nothing stored) when full. */
  push(item: T): boolean {
    if (this.#length >= this.capacity) return false;
    this.#slots[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
    return true;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  clear(): void {
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }
}

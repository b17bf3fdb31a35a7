/**
 * Fixed-capacity ring of float samples; capacity is a power of two so a stream position maps to a slot
 * with a mask. Writes overwrite the oldest samples and allocate nothing.
 *
 *   capacity 8, written 11 (stream positions shown in the slots):
 *
 *     slot:  0  1  2  3  4  5  6  7
 *          [ 8  9 10  3  4  5  6  7 ]
 *                    ^ next write: 11 & 7 = 3, which is also the oldest held sample (3)
 *
 *   the latest 8 are positions 3..10: slots 3..7, then 0..2
 */
export class FloatRingBuffer {
  readonly #buf: Float32Array;
  readonly #mask: number;
  #written = 0;

  constructor(minCapacity: number) {
    if (!Number.isInteger(minCapacity) || minCapacity < 1 || minCapacity > 2 ** 30) {
      throw new RangeError(`ring buffer capacity must be an integer in [1, 2^30], got ${minCapacity}`);
    }
    let cap = 1;
    while (cap < minCapacity) cap *= 2;
    this.#buf = new Float32Array(cap);
    this.#mask = cap - 1;
  }

  get capacity(): number {
    return this.#buf.length;
  }

  /** Samples held: min(written, capacity). */
  get length(): number {
    return Math.min(this.#written, this.#buf.length);
  }

  /** Samples ever written since construction or clear(). */
  get written(): number {
    return this.#written;
  }

  write(src: Float32Array, srcOffset = 0, length = src.length - srcOffset): void {
    const buf = this.#buf;
    const mask = this.#mask;
    // Only the last `capacity` samples of an oversized write can survive it.
    const skip = length > buf.length ? length - buf.length : 0;
    let at = (this.#written + skip) & mask;
    for (let i = srcOffset + skip, end = srcOffset + length; i < end; i++) {
      buf[at] = src[i]!;
      at = (at + 1) & mask;
    }
    this.#written += length;
  }

  /** Copies the latest `count` samples, oldest first, into dst at dstOffset; false (and no copy) when fewer are held. */
  copyLatest(dst: Float32Array, count: number, dstOffset = 0): boolean {
    if (count > this.length) return false;
    const buf = this.#buf;
    const mask = this.#mask;
    let at = (this.#written - count) & mask;
    for (let i = dstOffset, end = dstOffset + count; i < end; i++) {
      dst[i] = buf[at]!;
      at = (at + 1) & mask;
    }
    return true;
  }

  clear(): void {
    this.#written = 0;
  }
}

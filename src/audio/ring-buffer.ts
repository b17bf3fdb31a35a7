/**
 * Fixed-capacity ring of float samples, capacity a power of two so the index is a mask.
 *
 *   written = 11, capacity 8:      [ 8  9 10  3  4  5  6  7 ]   (numbers: stream positions)
 *                                            ^ next write at 11 & 7 = 3; the latest 8 are 3..10
 */
export class FloatRingBuffer {
  readonly #buf: Float32Array;
  readonly #mask: number;
  #written = 0;

  constructor(minCapacity: number) {
    let cap = 1;
    while (cap < minCapacity) cap <<= 1;
    this.#buf = new Float32Array(cap);
    this.#mask = cap - 1;
  }

  get capacity(): number {
    return this.#buf.length;
  }

  get length(): number {
    return Math.min(this.#written, this.#buf.length);
  }

  get written(): number {
    return this.#written;
  }

  write(src: Float32Array, srcOffset = 0, length = src.length - srcOffset): void {
    const cap = this.#buf.length;
    if (length > cap) {
      srcOffset += length - cap;
      this.#written += length - cap;
      length = cap;
    }
    const at = this.#written & this.#mask;
    const first = Math.min(length, cap - at);
    this.#buf.set(src.subarray(srcOffset, srcOffset + first), at);
    if (first < length) this.#buf.set(src.subarray(srcOffset + first, srcOffset + length), 0);
    this.#written += length;
  }

  /** Copies the latest `count` samples, oldest first; false when fewer are held. */
  copyLatest(dst: Float32Array, count: number, dstOffset = 0): boolean {
    if (count > this.length) return false;
    const start = (this.#written - count) & this.#mask;
    const first = Math.min(count, this.#buf.length - start);
    dst.set(this.#buf.subarray(start, start + first), dstOffset);
    if (first < count) dst.set(this.#buf.subarray(0, count - first), dstOffset + first);
    return true;
  }

  clear(): void {
    this.#written = 0;
  }
}

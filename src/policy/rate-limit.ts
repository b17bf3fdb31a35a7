/**
 * Token bucket: at most `capacity` takes in a burst, refilled continuously at `capacity` per
 * `periodMs`. The process-wide limit on automated hang-ups: whatever the rules say, a fault that
 * makes every caller "sound angry" cannot disconnect more than this many calls a minute.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #ratePerMs: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(capacity: number, periodMs: number, now: () => number) {
    this.#capacity = capacity;
    this.#ratePerMs = capacity / periodMs;
    this.#now = now;
    this.#tokens = capacity;
    this.#at = now();
  }

  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes a token when one is there; false (and nothing taken) otherwise. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Gives back a token that was taken for something that then did not happen. */
  refund(): void {
    this.#refill();
    this.#tokens = Math.min(this.#capacity, this.#tokens + 1);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#ratePerMs);
    this.#at = now;
  }
}

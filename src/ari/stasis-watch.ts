/**
 * Which of our own channels have entered Stasis, and a wait for one to get there. Asterisk answers
 * `POST externalMedia` before the channel enters Stasis (recording 13), and a bridge refuses a channel
 * not yet in Stasis with 422, so a tap adds its channels only once both StasisStart events are in.
 */
export class StasisWatch {
  readonly #inside = new Set<string>();
  readonly #waiters = new Map<string, Set<(entered: boolean) => void>>();

  entered(id: string): void {
    this.#inside.add(id);
    this.#settle(id, true);
  }

  /** The channel left Stasis or went away, or we stopped caring about it. */
  forget(id: string): void {
    this.#inside.delete(id);
    this.#settle(id, false);
  }

  /** True once `id` is in Stasis; false after `timeoutMs` or when it is forgotten first. */
  until(id: string, timeoutMs: number): Promise<boolean> {
    if (this.#inside.has(id)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (entered: boolean): void => {
        clearTimeout(timer);
        const set = this.#waiters.get(id);
        set?.delete(done);
        if (set?.size === 0) this.#waiters.delete(id);
        resolve(entered);
      };
      let set = this.#waiters.get(id);
      if (!set) this.#waiters.set(id, (set = new Set()));
      set.add(done);
    });
  }

  get size(): number {
    return this.#inside.size;
  }

  #settle(id: string, entered: boolean): void {
    for (const done of [...(this.#waiters.get(id) ?? [])]) done(entered);
  }
}

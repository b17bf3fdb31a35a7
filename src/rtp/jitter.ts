import { seqDiff } from './seq.js';

export interface JitterOptions {
  /** Packets held beyond a gap before the gap is declared lost (3 = 60 ms at 20 ms packets). */
  depthPackets: number;
  /** A jump larger than this (either way) is a new stream, not loss. */
  maxGapPackets: number;
  /** In-order output: a payload, or null for a lost or skipped packet (play silence). Payload views are reused. */
  onFrame(payload: Uint8Array | null, seq: number): void;
}

export interface JitterStats {
  received: number;
  duplicate: number;
  late: number;
  lost: number;
  reordered: number;
  resets: number;
}

const SLOTS = 64; // power of two, well above any sane depth
const MAX_PAYLOAD = 1280;
const EMPTY = 0;
const HELD = 1;
const PLAYED = 2;
const CONCEALED = 3;

/**
 * Reorders packets by sequence number within a small window and conceals what stays missing. Pure:
 * no sockets or timers; a slot per sequence number modulo 64, payload bytes copied into it (the socket's
 * buffer is reused), and each slot remembers what became of its sequence number to tell late from duplicate.
 */
export class JitterBuffer {
  readonly #opts: JitterOptions;
  readonly #data: Uint8Array[] = Array.from({ length: SLOTS }, () => new Uint8Array(MAX_PAYLOAD));
  readonly #len = new Uint16Array(SLOTS);
  readonly #seq = new Int32Array(SLOTS).fill(-1);
  readonly #state = new Uint8Array(SLOTS);
  readonly #stats: JitterStats = { received: 0, duplicate: 0, late: 0, lost: 0, reordered: 0, resets: 0 };
  #started = false;
  #next = 0;
  #highest = 0;

  constructor(opts: JitterOptions) {
    if (opts.depthPackets < 1 || opts.depthPackets >= SLOTS / 2) throw new RangeError(`depthPackets must be 1..${SLOTS / 2 - 1}`);
    this.#opts = opts;
  }

  get stats(): JitterStats {
    return { ...this.#stats };
  }

  /**
   * A packet of the stream that carries no audio we play (comfort noise, a DTMF event, an unknown
   * payload type): its slot plays as silence instead of being concealed and counted as lost.
   * Ignored unless it falls inside the window the buffer is waiting on.
   */
  skip(seq: number): void {
    if (!this.#started) return;
    const ahead = seqDiff(seq, this.#next);
    if (ahead < 0 || ahead >= SLOTS - 1 || ahead > this.#opts.maxGapPackets) return;
    const slot = seq & (SLOTS - 1);
    if (this.#seq[slot] === seq && this.#state[slot] === HELD) return;
    this.#len[slot] = 0;
    this.#seq[slot] = seq;
    this.#state[slot] = HELD;
    if (seqDiff(seq, this.#highest) > 0) this.#highest = seq;
    this.#drain(false);
  }

  push(seq: number, payload: Uint8Array): void {
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
    if (!this.#started) this.#restart(seq);
    const ahead = seqDiff(seq, this.#next);
    if (ahead < 0) {
      const slot = seq & (SLOTS - 1);
      if (-ahead > this.#opts.maxGapPackets) {
        this.#newStream(seq);
      } else {
        if (this.#seq[slot] === seq && this.#state[slot] === PLAYED) this.#stats.duplicate++;
        else this.#stats.late++;
        return;
      }
    } else if (ahead >= SLOTS - 1 || ahead > this.#opts.maxGapPackets) {
      this.#newStream(seq);
    }
    const slot = seq & (SLOTS - 1);
    if (this.#seq[slot] === seq && this.#state[slot] === HELD) {
      this.#stats.duplicate++;
      return;
    }
    this.#data[slot]!.set(payload);
    this.#len[slot] = payload.length;
    this.#seq[slot] = seq;
    this.#state[slot] = HELD;
    this.#stats.received++;
    if (seqDiff(seq, this.#highest) > 0) this.#highest = seq;
    else if (seq !== this.#highest) this.#stats.reordered++;
    this.#drain(false);
  }

  /** Plays out what is held and forgets the stream: the next packet starts a new one. */
  reset(): void {
    this.flush();
    this.#started = false;
  }

  /** Plays out everything held, concealing the gaps between. */
  flush(): void {
    if (this.#started) this.#drain(true);
  }

  #drain(all: boolean): void {
    for (;;) {
      const slot = this.#next & (SLOTS - 1);
      if (this.#seq[slot] === this.#next && this.#state[slot] === HELD) {
        this.#state[slot] = PLAYED;
        const len = this.#len[slot]!;
        this.#opts.onFrame(len === 0 ? null : this.#data[slot]!.subarray(0, len), this.#next);
      } else {
        const waiting = seqDiff(this.#highest, this.#next);
        if (waiting < 0 || (!all && waiting < this.#opts.depthPackets)) return;
        this.#seq[slot] = this.#next;
        this.#state[slot] = CONCEALED;
        this.#stats.lost++;
        this.#opts.onFrame(null, this.#next);
      }
      this.#next = (this.#next + 1) & 0xffff;
    }
  }

  #newStream(seq: number): void {
    this.#drain(true);
    this.#stats.resets++;
    this.#restart(seq);
  }

  #restart(seq: number): void {
    this.#started = true;
    this.#next = seq;
    this.#highest = (seq - 1) & 0xffff;
    this.#state.fill(EMPTY);
    this.#seq.fill(-1);
  }
}

import { SEQ_MASK, seqDiff, seqNext } from './seq.js';

export interface JitterOptions {
  /**
   * Packets held beyond a gap before the gap is declared lost: 3 = 60 ms at 20 ms packets. In-order
   * packets are never delayed; the depth only bounds how long a reordered packet is waited for.
   */
  depthPackets: number;
  /**
   * A jump larger than this (either way) is not loss: it is a stray packet, or, once the packet after it
   * arrives too, a restarted stream (counted in `resets`, nothing concealed). 50 = 1 s of 20 ms packets.
   */
  maxGapPackets: number;
  /** Largest payload held, bytes (default 640: 20 ms of slin16). push() throws RangeError beyond it. */
  maxPayloadBytes?: number;
  /**
   * Consecutive packets (the first one included) that must confirm a jump before the window moves to
   * it (default 3). A jump is a packet more than depthPackets ahead of the newest one, or behind what
   * has been played and not a duplicate. Until confirmed, jumped packets are held aside and played
   * only if confirmed; any packet of the current stream in between cancels the jump. So one forged
   * packet far ahead cannot conceal the real stream's next second as lost.
   */
  jumpConfirmPackets?: number;
  /**
   * In-order output, called synchronously from push()/skip()/flush()/reset(). `payload` is a view of the
   * buffer's own storage, valid only during the call; null means play silence (a lost packet, concealed,
   * or a slot given to skip()). `tag` is what push() was given for that packet, -1 for a null frame.
   * Must not throw and must not call back into the buffer.
   */
  onFrame(payload: Uint8Array | null, seq: number, tag: number): void;
}

export interface JitterStats {
  /** Packets accepted into a slot (each sequence number once). */
  received: number;
  /** A sequence number already held, or already played (as far back as the slot history reaches). */
  duplicate: number;
  /** Older than what has been played and not a duplicate (nor confirmed as a restart): dropped. */
  late: number;
  /** Slots played as silence because their packet had not arrived in time. */
  lost: number;
  /** Accepted although a newer sequence number had already arrived. */
  reordered: number;
  /** Restarts: a jump beyond maxGapPackets (or backwards) confirmed by the packets after it. */
  resets: number;
  /** Jumped ahead (beyond depthPackets) or far away, and not confirmed by the packets after it: dropped. */
  stray: number;
}

const EMPTY = 0;
const HELD = 1;
const PLAYED = 2;
const CONCEALED = 3;

/*
 * Slots are a power-of-two ring indexed by `seq & mask`. Only [next, next + depth) is ever held after a
 * push returns; slots behind `next` keep the sequence number and fate of what was there (PLAYED or
 * CONCEALED) to tell a duplicate from a late packet, until the slot is reused.
 *
 *            played history        next            highest
 *   ... | PLAYED | CONCEALED | PLAYED | HELD? | HELD? | HELD | EMPTY ...
 *                                     '-- < depthPackets --'
 *
 * Payload bytes live in one pre-allocated ArrayBuffer, `maxPayloadBytes` per slot, plus
 * jumpConfirmPackets slots aside for a jump that is waiting to be confirmed. The UDP receive buffer is reused by the
 * socket, so a held payload must be copied; nothing else is allocated per packet (the view handed to
 * onFrame is cached per slot and only re-created when the payload length changes).
 */

/**
 * Reorders one RTP stream by sequence number, conceals what stays missing, and counts what happened.
 * Pure: no sockets, no timers, no clock. Wraps at 65535.
 */
export class JitterBuffer {
  readonly #depth: number;
  readonly #maxGap: number;
  readonly #maxPayload: number;
  readonly #onFrame: JitterOptions['onFrame'];
  readonly #mask: number;
  readonly #store: Uint8Array;
  readonly #seq: Int32Array;
  readonly #state: Uint8Array;
  readonly #len: Uint16Array;
  readonly #tag: Int32Array;
  readonly #views: Uint8Array[];
  readonly #stats: JitterStats = { received: 0, duplicate: 0, late: 0, lost: 0, reordered: 0, resets: 0, stray: 0 };
  #started = false;
  /** The sequence number to play next. */
  #next = 0;
  /** The newest sequence number accepted. */
  #highest = 0;
  readonly #confirm: number;
  /** The jump being confirmed: its packets, in order from #candStart, outside the ring. */
  readonly #candStore: Uint8Array;
  readonly #candLen: Uint16Array;
  readonly #candTag: Int32Array;
  #candStart = 0;
  #candCount = 0;
  /** How many of the held jump packets were counted late (the others were counted stray). */
  #candLate = 0;

  constructor(opts: JitterOptions) {
    const { depthPackets, maxGapPackets } = opts;
    const maxPayload = opts.maxPayloadBytes ?? 640;
    if (!Number.isInteger(depthPackets) || depthPackets < 1 || depthPackets > 1000) {
      throw new RangeError(`depthPackets must be an integer in 1..1000, got ${depthPackets}`);
    }
    if (!Number.isInteger(maxGapPackets) || maxGapPackets < depthPackets || maxGapPackets > 16384) {
      throw new RangeError(`maxGapPackets must be an integer in depthPackets..16384, got ${maxGapPackets}`);
    }
    if (!Number.isInteger(maxPayload) || maxPayload < 1 || maxPayload > 0xffff) {
      throw new RangeError(`maxPayloadBytes must be an integer in 1..65535, got ${maxPayload}`);
    }
    const confirm = opts.jumpConfirmPackets ?? 3;
    if (!Number.isInteger(confirm) || confirm < 1 || confirm > 64) {
      throw new RangeError(`jumpConfirmPackets must be an integer in 1..64, got ${confirm}`);
    }
    this.#confirm = confirm;
    this.#candStore = new Uint8Array(confirm * maxPayload);
    this.#candLen = new Uint16Array(confirm);
    this.#candTag = new Int32Array(confirm);
    this.#depth = depthPackets;
    this.#maxGap = maxGapPackets;
    this.#maxPayload = maxPayload;
    this.#onFrame = opts.onFrame;
    // Room for the largest accepted jump plus some played history for duplicate detection.
    let slots = 16;
    while (slots < maxGapPackets + depthPackets + 8) slots <<= 1;
    this.#mask = slots - 1;
    this.#store = new Uint8Array(slots * maxPayload);
    this.#seq = new Int32Array(slots).fill(-1);
    this.#state = new Uint8Array(slots);
    this.#len = new Uint16Array(slots);
    this.#tag = new Int32Array(slots);
    this.#views = Array.from({ length: slots }, (_, i) => this.#store.subarray(i * maxPayload, i * maxPayload));
  }

  /** A snapshot of the counters. */
  get stats(): JitterStats {
    return { ...this.#stats };
  }

  /**
   * Adds a packet. Plays out (through onFrame) every frame that is now due, in sequence order.
   * `payload` is copied; it may be reused as soon as push returns. `tag` travels with it to onFrame
   * (the receiver passes the payload type). Throws RangeError for a payload above maxPayloadBytes:
   * callers that take packets from the network must check first.
   */
  push(seq: number, payload: Uint8Array, tag = 0): void {
    if (payload.length > this.#maxPayload) {
      throw new RangeError(`payload of ${payload.length} bytes exceeds maxPayloadBytes ${this.#maxPayload}`);
    }
    seq &= SEQ_MASK;
    if (!this.#started) this.#restart(seq);
    const ahead = seqDiff(seq, this.#next);
    const slot = seq & this.#mask;
    if (ahead >= 0 && ahead <= this.#maxGap && seqDiff(seq, this.#highest) <= this.#depth) {
      // The current stream goes on: a jump being confirmed was not a new stream after all.
      if (this.#candCount > 0) this.#candCount = 0;
      if (this.#seq[slot] === seq && this.#state[slot] === HELD) {
        this.#stats.duplicate++;
        return;
      }
      this.#store.set(payload, slot * this.#maxPayload);
      this.#hold(slot, seq, payload.length, tag);
      this.#stats.received++;
      if (seqDiff(seq, this.#highest) > 0) this.#highest = seq;
      else this.#stats.reordered++;
      this.#drain(false);
      return;
    }
    if (ahead < 0 && -ahead <= this.#maxGap && this.#seq[slot] === seq && this.#state[slot] === PLAYED) {
      this.#stats.duplicate++;
      return;
    }
    this.#jump(seq, payload, tag, ahead < 0 && -ahead <= this.#maxGap);
  }

  /**
   * Marks a sequence number of the stream that carries nothing to play (comfort noise, a DTMF event, a
   * payload type we do not decode, an empty payload): its slot plays as silence instead of being
   * concealed and counted lost. No counter changes. Ignored before the first push, behind `next`, and
   * more than depthPackets ahead of the newest packet (a jump is never taken on a packet's word alone).
   */
  skip(seq: number): void {
    if (!this.#started) return;
    seq &= SEQ_MASK;
    const ahead = seqDiff(seq, this.#next);
    if (ahead < 0 || ahead > this.#maxGap || seqDiff(seq, this.#highest) > this.#depth) return;
    const slot = seq & this.#mask;
    if (this.#seq[slot] === seq && this.#state[slot] === HELD) return;
    this.#hold(slot, seq, 0, -1);
    if (seqDiff(seq, this.#highest) > 0) this.#highest = seq;
    this.#drain(false);
  }

  /** Plays out everything held now, concealing the gaps between; the stream continues after it. */
  flush(): void {
    if (this.#started) this.#drain(true);
  }

  /** flush(), then forget the stream: the next push starts a new one (not counted in `resets`). */
  reset(): void {
    this.flush();
    this.#started = false;
    this.#candCount = 0;
  }

  #hold(slot: number, seq: number, len: number, tag: number): void {
    this.#seq[slot] = seq;
    this.#state[slot] = HELD;
    this.#len[slot] = len;
    this.#tag[slot] = tag;
  }

  /**
   * A packet that would move the window: more than depthPackets ahead of the newest, or behind what was
   * played (`late`), or far away either way. It is held aside; once jumpConfirmPackets consecutive
   * packets have followed it with no packet of the current stream in between, the stream moves there
   * (RFC 3550 A.1 probation): a jump forward within maxGapPackets is loss, anything else a restart.
   */
  #jump(seq: number, payload: Uint8Array, tag: number, late: boolean): void {
    if (late) this.#stats.late++;
    else this.#stats.stray++;
    if (this.#candCount > 0) {
      const at = seqDiff(seq, this.#candStart);
      if (at >= 0 && at < this.#candCount) {
        if (late) this.#stats.late--;
        else this.#stats.stray--;
        this.#stats.duplicate++;
        return;
      }
      if (at !== this.#candCount) this.#candCount = 0;
    }
    if (this.#candCount === 0) {
      this.#candStart = seq;
      this.#candLate = 0;
    }
    const i = this.#candCount++;
    this.#candStore.set(payload, i * this.#maxPayload);
    this.#candLen[i] = payload.length;
    this.#candTag[i] = tag;
    if (late) this.#candLate++;
    if (this.#candCount >= this.#confirm) this.#commitJump();
  }

  #commitJump(): void {
    const n = this.#candCount;
    const first = this.#candStart;
    const last = (first + n - 1) & SEQ_MASK;
    this.#candCount = 0;
    this.#stats.late -= this.#candLate;
    this.#stats.stray -= n - this.#candLate;
    const ahead = seqDiff(first, this.#next);
    if (!(ahead >= 0 && seqDiff(last, this.#next) <= this.#maxGap)) {
      this.#drain(true);
      this.#stats.resets++;
      this.#restart(first);
    }
    for (let i = 0; i < n; i++) {
      const seq = (first + i) & SEQ_MASK;
      const slot = seq & this.#mask;
      this.#store.set(this.#candStore.subarray(i * this.#maxPayload, i * this.#maxPayload + this.#candLen[i]!), slot * this.#maxPayload);
      this.#hold(slot, seq, this.#candLen[i]!, this.#candTag[i]!);
      this.#stats.received++;
    }
    this.#highest = last;
    this.#drain(false);
  }

  #drain(all: boolean): void {
    const mask = this.#mask;
    for (;;) {
      const next = this.#next;
      const slot = next & mask;
      if (this.#seq[slot] === next && this.#state[slot] === HELD) {
        this.#state[slot] = PLAYED;
        this.#next = seqNext(next);
        const len = this.#len[slot]!;
        if (len === 0) this.#onFrame(null, next, -1);
        else this.#onFrame(this.#view(slot, len), next, this.#tag[slot]!);
        continue;
      }
      const waiting = seqDiff(this.#highest, next);
      if (waiting < 0 || (!all && waiting < this.#depth)) return;
      this.#seq[slot] = next;
      this.#state[slot] = CONCEALED;
      this.#stats.lost++;
      this.#next = seqNext(next);
      this.#onFrame(null, next, -1);
    }
  }

  #view(slot: number, len: number): Uint8Array {
    let v = this.#views[slot]!;
    if (v.length !== len) {
      v = this.#store.subarray(slot * this.#maxPayload, slot * this.#maxPayload + len);
      this.#views[slot] = v;
    }
    return v;
  }

  #restart(seq: number): void {
    this.#started = true;
    this.#next = seq;
    this.#highest = (seq - 1) & SEQ_MASK;
    this.#state.fill(EMPTY);
    this.#seq.fill(-1);
  }
}

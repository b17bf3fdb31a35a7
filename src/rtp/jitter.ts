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
  /** Older than what has been played and not a duplicate: its slot was concealed, so it is dropped. */
  late: number;
  /** Slots played as silence because their packet had not arrived in time. */
  lost: number;
  /** Accepted although a newer sequence number had already arrived. */
  reordered: number;
  /** Restarts: a far jump confirmed by the packet after it. */
  resets: number;
  /** Far outside the window (more than maxGapPackets away) and not confirmed as a restart: dropped. */
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
 * Payload bytes live in one pre-allocated ArrayBuffer, `maxPayloadBytes` per slot, plus one spare slot
 * for a stray packet that may turn out to start a new stream. The UDP receive buffer is reused by the
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
  /** The spare slot's stray packet, or -1. */
  #straySeq = -1;

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
    this.#depth = depthPackets;
    this.#maxGap = maxGapPackets;
    this.#maxPayload = maxPayload;
    this.#onFrame = opts.onFrame;
    // Room for the largest accepted jump plus some played history for duplicate detection.
    let slots = 16;
    while (slots < maxGapPackets + depthPackets + 8) slots <<= 1;
    this.#mask = slots - 1;
    // Index `slots` (one past the ring) is the spare slot for a stray packet.
    this.#store = new Uint8Array((slots + 1) * maxPayload);
    this.#seq = new Int32Array(slots + 1).fill(-1);
    this.#state = new Uint8Array(slots + 1);
    this.#len = new Uint16Array(slots + 1);
    this.#tag = new Int32Array(slots + 1);
    this.#views = Array.from({ length: slots + 1 }, (_, i) => this.#store.subarray(i * maxPayload, i * maxPayload));
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
    if (ahead > this.#maxGap || -ahead > this.#maxGap) {
      this.#far(seq, payload, tag);
      return;
    }
    const slot = seq & this.#mask;
    if (ahead < 0) {
      if (this.#seq[slot] === seq && this.#state[slot] === PLAYED) this.#stats.duplicate++;
      else this.#stats.late++;
      return;
    }
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
  }

  /**
   * Marks a sequence number of the stream that carries nothing to play (comfort noise, a DTMF event, a
   * payload type we do not decode, an empty payload): its slot plays as silence instead of being
   * concealed and counted lost. No counter changes. Ignored before the first push and outside
   * [next, next + maxGapPackets].
   */
  skip(seq: number): void {
    if (!this.#started) return;
    seq &= SEQ_MASK;
    const ahead = seqDiff(seq, this.#next);
    if (ahead < 0 || ahead > this.#maxGap) return;
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
    this.#straySeq = -1;
  }

  #hold(slot: number, seq: number, len: number, tag: number): void {
    this.#seq[slot] = seq;
    this.#state[slot] = HELD;
    this.#len[slot] = len;
    this.#tag[slot] = tag;
  }

  /**
   * A packet more than maxGapPackets from where the stream is: a stray (a delayed packet from long ago,
   * garbage with our SSRC) or the first packet of a restarted stream. Kept in the spare slot; if the
   * next far packet is its successor, the stream restarts at the kept one (RFC 3550 A.1 probation).
   */
  #far(seq: number, payload: Uint8Array, tag: number): void {
    const spare = this.#mask + 1;
    if (this.#straySeq >= 0 && seq === seqNext(this.#straySeq)) {
      const first = this.#straySeq;
      this.#straySeq = -1;
      this.#stats.stray--; // it was counted as a stray on arrival; it is the new stream's first packet
      this.#drain(true);
      this.#stats.resets++;
      this.#restart(first);
      const slot = first & this.#mask;
      this.#store.copyWithin(slot * this.#maxPayload, spare * this.#maxPayload, spare * this.#maxPayload + this.#len[spare]!);
      this.#hold(slot, first, this.#len[spare]!, this.#tag[spare]!);
      this.#stats.received++;
      this.#highest = first;
      this.push(seq, payload, tag);
      return;
    }
    this.#store.set(payload, spare * this.#maxPayload);
    this.#len[spare] = payload.length;
    this.#tag[spare] = tag;
    this.#straySeq = seq;
    this.#stats.stray++;
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

import { createSocket, type Socket } from 'node:dgram';
import { RtpHeader, RtpPacket } from 'werift-rtp';
import { encodeAlaw, encodeUlaw } from '../audio/g711.js';
import { mulberry32 } from './prng.js';

/**
 * Streams audio as RTP the way Asterisk's externalMedia does (shared/asterisk/README.md): 20 ms packets,
 * 160-byte G.711 payload, random SSRC and first sequence, first timestamp 160, marker never set.
 * Used by the simulator, the tests and the benchmark; not on the product's receive path.
 */
export interface RtpStreamOptions {
  /** 8 kHz mono audio in [-1, 1]. */
  audio: Float32Array;
  codec?: 'pcmu' | 'pcma';
  to: { host: string; port: number };
  /** Start again at the end (a long call from a short clip). */
  loop?: boolean;
  ssrc?: number;
  /** Deterministic impairments, each a probability per packet. */
  impair?: { loss?: number; duplicate?: number; reorder?: number; seed?: number };
}

export interface RtpStreamStats {
  sent: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

const FRAME = 160;
const PT = { pcmu: 0, pcma: 8 } as const;

/** What RtpPacer clocks: one packet per call of sendNext, every 20 ms, until done. */
export interface PacedStream {
  readonly done: boolean;
  sendNext(socket: Socket): void;
}

export class RtpStream implements PacedStream {
  readonly ssrc: number;
  readonly stats: RtpStreamStats = { sent: 0, dropped: 0, duplicated: 0, reordered: 0 };
  readonly #payload: Uint8Array;
  readonly #frames: number;
  readonly #opts: RtpStreamOptions;
  readonly #rand: () => number;
  #seq: number;
  #ts = FRAME;
  #frame = 0;
  #held: Buffer | null = null;
  done = false;

  constructor(opts: RtpStreamOptions) {
    this.#opts = opts;
    this.#payload = (opts.codec ?? 'pcmu') === 'pcma' ? encodeAlaw(opts.audio) : encodeUlaw(opts.audio);
    this.#frames = Math.floor(this.#payload.length / FRAME);
    this.#rand = mulberry32(opts.impair?.seed ?? 1);
    this.ssrc = opts.ssrc ?? Math.floor(Math.random() * 0xffffffff);
    this.#seq = Math.floor(Math.random() * 0x10000);
  }

  /** Sends the next 20 ms packet through `socket` (impairments applied). */
  sendNext(socket: Socket): void {
    if (this.done) return;
    if (this.#frame >= this.#frames) {
      if (!this.#opts.loop || this.#frames === 0) {
        this.#release(socket);
        this.done = true;
        return;
      }
      this.#frame = 0;
    }
    const start = this.#frame * FRAME;
    const header = new RtpHeader({
      version: 2,
      payloadType: PT[this.#opts.codec ?? 'pcmu'],
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      ssrc: this.ssrc,
      marker: false,
    });
    const packet = new RtpPacket(header, Buffer.from(this.#payload.subarray(start, start + FRAME))).serialize();
    this.#frame++;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + FRAME) >>> 0;
    const imp = this.#opts.impair;
    if (imp?.loss && this.#rand() < imp.loss) {
      this.stats.dropped++;
      return;
    }
    if (imp?.reorder && !this.#held && this.#rand() < imp.reorder) {
      this.#held = packet; // goes out after the next packet
      this.stats.reordered++;
      return;
    }
    this.#send(socket, packet);
    if (imp?.duplicate && this.#rand() < imp.duplicate) {
      this.#send(socket, packet);
      this.stats.duplicated++;
    }
    this.#release(socket);
  }

  #release(socket: Socket): void {
    if (!this.#held) return;
    const held = this.#held;
    this.#held = null;
    this.#send(socket, held);
  }

  #send(socket: Socket, packet: Buffer): void {
    socket.send(packet, this.#opts.to.port, this.#opts.to.host);
    this.stats.sent++;
  }
}

/**
 * One clock for many streams: every tick sends each stream the packets that are due by wall time,
 * so pacing does not drift with timer jitter.
 */
export class RtpPacer {
  readonly #socket: Socket;
  readonly #streams = new Set<{ stream: PacedStream; startedAt: number; sent: number }>();
  #timer: NodeJS.Timeout | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static async create(bindHost = '127.0.0.1'): Promise<RtpPacer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, bindHost, () => resolve());
    });
    return new RtpPacer(socket);
  }

  get address(): { address: string; port: number } {
    return this.#socket.address();
  }

  get active(): number {
    return this.#streams.size;
  }

  /** `phaseMs` delays the first packet, so many streams do not all send on the same tick. */
  add(stream: PacedStream, phaseMs = 0): void {
    this.#streams.add({ stream, startedAt: performance.now() + phaseMs, sent: 0 });
    this.#timer ??= setInterval(() => this.#tick(), 5);
  }

  remove(stream: PacedStream): void {
    for (const s of this.#streams) if (s.stream === stream) this.#streams.delete(s);
  }

  /** Sends arbitrary bytes from the pacer's own address (tests inject bad packets this way). */
  sendRaw(bytes: Uint8Array, to: { host: string; port: number }): void {
    this.#socket.send(bytes, to.port, to.host);
  }

  /** Resolves when every stream added so far has played out (non-looping streams only). */
  async finished(): Promise<void> {
    while ([...this.#streams].some((s) => !s.stream.done)) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#streams.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #tick(): void {
    const now = performance.now();
    for (const s of this.#streams) {
      if (now < s.startedAt) continue;
      const due = Math.floor((now - s.startedAt) / 20) + 1;
      while (s.sent < due && !s.stream.done) {
        s.stream.sendNext(this.#socket);
        s.sent++;
      }
      if (s.stream.done) this.#streams.delete(s);
    }
  }
}

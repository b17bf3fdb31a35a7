import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeAlaw, decodeUlaw } from '../audio/g711.js';
import { Decimator16to8, decodeSlin16BE } from '../audio/resample.js';
import { JitterBuffer } from './jitter.js';
import { parseRtp } from './packet.js';
import { tsDiff } from './seq.js';

export interface RtpReceiverOptions {
  /** Local address to bind, e.g. 127.0.0.1 or the address Asterisk is told to send to. */
  host: string;
  /** Local port; 0 binds any free port (start() resolves the one bound). */
  port: number;
  /**
   * Only packets from this address are accepted; others are counted in `foreignSource` and dropped.
   * Without `port`, the source port of the first valid RTP packet is latched and other ports are foreign.
   */
  expectedSource?: { address: string; port?: number };
  /** Asterisk's slin16 has a dynamic payload type and no SDP to announce it: 118 in Asterisk 22. */
  slin16PayloadType?: number;
  /** Jitter buffer depth in packets (default 3 = 60 ms). */
  jitterDepthPackets?: number;
  /** A sequence jump beyond this many packets is a stray or a restart, not loss (default 50). */
  maxGapPackets?: number;
  /**
   * Packets per second the stream may carry (default 200; Asterisk sends 50). Beyond it (with a burst
   * of MAX_BURST packets allowed) datagrams are dropped, counted in `rateCapped`, and the stream is muted
   * until it has kept to the rate for RATE_MUTE_MS: a flood never reaches inference.
   */
  maxPacketRate?: number;
  /** SO_RCVBUF asked of the kernel, bytes (default 1 MiB; Linux caps it at net.core.rmem_max). */
  recvBufferBytes?: number;
  /**
   * Decoded 8 kHz mono audio in [-1, 1], in sequence order: `length` samples (160 per 20 ms packet; a
   * lost packet arrives as zeros of the last packet's length). `samples` is reused: copy what you keep.
   * Called from the socket's message handler; a throw is caught and counted in `listenerErrors`.
   */
  onAudio(samples: Float32Array, length: number): void;
  /** Once, when the first valid RTP packet of our stream arrives (the tap-health watchdog listens). */
  onFirstPacket?(): void;
}

export interface RtpStats {
  /** Valid RTP packets of our stream (source and SSRC accepted), duplicates and late ones included. */
  packets: number;
  /** Datagram bytes of those packets. */
  bytes: number;
  /** 20 ms slots played as silence because their packet did not arrive in time. */
  lost: number;
  /** Arrived after their slot was concealed: dropped. */
  late: number;
  duplicate: number;
  /** Arrived after a newer packet but in time to be played in order. */
  reordered: number;
  /** Sequence number far (maxGapPackets) from the stream's and not followed by its successor: dropped. */
  stray: number;
  /** From an address (or latched port) other than the expected source: dropped. */
  foreignSource: number;
  /** From another SSRC while ours is live (a one-off, or a new stream not yet taken over): dropped. */
  foreignSsrc: number;
  /** Not PCMU (0), PCMA (8) or the slin16 payload type: dropped (its slot plays as silence). */
  badPayloadType: number;
  /** Not parseable as RTP, a payload above 640 bytes, or an odd-length slin16 payload: dropped. */
  malformed: number;
  /** Times a new SSRC took over the stream (only after ours had been silent SSRC_SILENCE_MS). */
  ssrcChanges: number;
  /** Datagrams from our source dropped for exceeding maxPacketRate, or while muted after that. */
  rateCapped: number;
  /** Socket errors after bind (e.g. ICMP-triggered): counted, the socket stays open. */
  socketErrors: number;
  /** Throws from onAudio / onFirstPacket, caught. */
  listenerErrors: number;
  /** RFC 3550 6.4.1 interarrival jitter estimate, ms. */
  jitterMs: number;
  /** performance.now() of the first / last valid packet of our stream, null before. */
  firstPacketAt: number | null;
  lastPacketAt: number | null;
}

const PCMU = 0;
const PCMA = 8;
const DEFAULT_SLIN16_PT = 118;
/** 20 ms of slin16, 80 ms of G.711. */
const MAX_PAYLOAD = 640;
const FRAME_8K = 160;
/*
 * Asterisk gives each externalMedia channel one random SSRC, never sets the marker bit, and sends 50
 * packets/s without a break while the snoop exists (shared/asterisk/README.md, "RTP observations"); a
 * new SSRC on a tap's port only ever follows the old stream stopping (a rebuilt tap). So a new SSRC
 * takes over only once ours has been silent SSRC_SILENCE_MS, and has sent SSRC_TAKEOVER_PACKETS in
 * sequence; packets of another SSRC while ours is alive are dropped, however many.
 */
const SSRC_SILENCE_MS = 200;
const SSRC_TAKEOVER_PACKETS = 3;
/** Packets the rate cap lets through at once: 1 s of audio delivered late in one go. */
const MAX_BURST = 50;
/** After a packet beyond the rate, the stream stays muted until it keeps to the rate this long. */
const RATE_MUTE_MS = 1000;
/** An interarrival difference beyond this is a discontinuity (restart, long stall), not jitter. */
const MAX_JITTER_SAMPLE_MS = 1000;

/**
 * One call's RTP: a UDP socket, the source and SSRC checks, the jitter buffer, and G.711 / slin16
 * decoding to 8 kHz floats. Nothing a peer sends can throw out of the receive handler: every rejected
 * datagram is counted in `stats` and dropped.
 *
 * Per packet, nothing is allocated beyond parsing's result object and payload view: the payload is
 * copied into the jitter buffer's pre-allocated slot, decoded into this receiver's own Float32Arrays.
 */
export class RtpReceiver {
  readonly #opts: RtpReceiverOptions;
  readonly #slin16: number;
  #socket: Socket | null = null;
  readonly #jitter: JitterBuffer;
  readonly #pcm = new Float32Array(MAX_PAYLOAD);
  readonly #pcm16k = new Float32Array(MAX_PAYLOAD / 2);
  readonly #decimator = new Decimator16to8();
  readonly #counts = {
    packets: 0,
    bytes: 0,
    foreignSource: 0,
    foreignSsrc: 0,
    badPayloadType: 0,
    malformed: 0,
    ssrcChanges: 0,
    socketErrors: 0,
    listenerErrors: 0,
    rateCapped: 0,
  };
  readonly #ratePerMs: number;
  #tokens = MAX_BURST;
  #tokensAt = -1;
  #mutedUntil = -1;
  #sourcePort: number | null;
  #ssrc: number | null = null;
  #ssrcLastAt = 0;
  #candidate: number | null = null;
  #candidateRun = 0;
  #candidateSeq = -1;
  /** Samples of the last decoded frame: a concealed frame is as long. */
  #frameSamples = FRAME_8K;
  #lastPlayedPt = -1;
  #firstAt: number | null = null;
  #lastAt: number | null = null;
  #jitterMs = 0;
  #prevArrival = -1;
  #prevTs = 0;
  #prevRate = 0;
  #boundPort = 0;
  #state: 'new' | 'binding' | 'open' | 'closed' = 'new';
  #abortStart: ((err: Error) => void) | null = null;
  #closing: Promise<void> | null = null;
  #expected: { address: string; port?: number } | null;

  constructor(opts: RtpReceiverOptions) {
    this.#opts = opts;
    this.#slin16 = opts.slin16PayloadType ?? DEFAULT_SLIN16_PT;
    if (this.#slin16 === PCMU || this.#slin16 === PCMA || !Number.isInteger(this.#slin16) || this.#slin16 < 0 || this.#slin16 > 127) {
      throw new RangeError(`slin16PayloadType must be an integer in 0..127 other than 0 and 8, got ${this.#slin16}`);
    }
    const rate = opts.maxPacketRate ?? 200;
    if (!(rate >= 1)) throw new RangeError(`maxPacketRate must be at least 1, got ${rate}`);
    this.#ratePerMs = rate / 1000;
    this.#expected = opts.expectedSource ?? null;
    this.#sourcePort = opts.expectedSource?.port ?? null;
    this.#jitter = new JitterBuffer({
      depthPackets: opts.jitterDepthPackets ?? 3,
      maxGapPackets: opts.maxGapPackets ?? 50,
      maxPayloadBytes: MAX_PAYLOAD,
      onFrame: (payload, _seq, pt) => this.#play(payload, pt),
    });
  }

  /** The bound port once start() resolved, else the configured one. */
  get port(): number {
    return this.#boundPort || this.#opts.port;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** A snapshot of the counters. */
  get stats(): RtpStats {
    const j = this.#jitter.stats;
    return {
      ...this.#counts,
      lost: j.lost,
      late: j.late,
      duplicate: j.duplicate,
      reordered: j.reordered,
      stray: j.stray,
      jitterMs: this.#jitterMs,
      firstPacketAt: this.#firstAt,
      lastPacketAt: this.#lastAt,
    };
  }

  /**
   * Binds the socket and starts receiving; resolves the bound port. Rejects with Node's socket error
   * (match on `code`: EADDRINUSE, EADDRNOTAVAIL, EACCES ...), after which the receiver is closed; also
   * rejects if called twice, after close(), or if close() is called while binding.
   */
  start(): Promise<number> {
    if (this.#state !== 'new') {
      return Promise.reject(new Error(`RtpReceiver.start() called when ${this.#state} [host:${this.#opts.host}, port:${this.port}]`));
    }
    this.#state = 'binding';
    const socket = createSocket({ type: 'udp4', recvBufferSize: this.#opts.recvBufferBytes ?? 1024 * 1024 });
    this.#socket = socket;
    // Always listening: an 'error' event without a listener would throw out of the event loop.
    socket.on('error', (err) => this.#onSocketError(err));
    return new Promise<number>((resolve, reject) => {
      this.#abortStart = (err: Error): void => {
        this.#abortStart = null;
        if (this.#state === 'binding') {
          this.#state = 'closed';
          this.#closing = closeSocket(socket);
        }
        reject(err);
      };
      socket.bind(this.#opts.port, this.#opts.host, () => {
        this.#abortStart = null;
        if (this.#state !== 'binding') return;
        this.#state = 'open';
        this.#boundPort = socket.address().port;
        socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
        resolve(this.#boundPort);
      });
    });
  }

  /** Closes the socket; idempotent (every call resolves once it is closed). Held audio is discarded. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const wasBinding = this.#state === 'binding';
    this.#state = 'closed';
    this.#closing = this.#socket ? closeSocket(this.#socket) : Promise.resolve();
    if (wasBinding) {
      this.#abortStart?.(new Error(`RtpReceiver closed while binding [host:${this.#opts.host}, port:${this.#opts.port}]`));
    }
    return this.#closing;
  }

  #onSocketError(err: Error): void {
    if (this.#abortStart) this.#abortStart(err);
    else if (this.#state === 'open') this.#counts.socketErrors++;
  }

  /**
   * From now on only packets from this address (and port, if given) are accepted, e.g. once Asterisk
   * has said where a tap's RTP will come from; the others are counted as foreign.
   */
  expectSource(source: { address: string; port?: number }): void {
    this.#expected = source;
    this.#sourcePort = source.port ?? null;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#state !== 'open') return;
    const expected = this.#expected;
    if (expected !== null && rinfo.address !== expected.address) {
      this.#counts.foreignSource++;
      return;
    }
    if (this.#sourcePort !== null && rinfo.port !== this.#sourcePort) {
      this.#counts.foreignSource++;
      return;
    }
    const now = performance.now();
    if (!this.#withinRate(now)) {
      this.#counts.rateCapped++;
      return;
    }
    const p = parseRtp(msg);
    if (!p.ok) {
      this.#counts.malformed++;
      return;
    }
    const pt = p.payloadType;
    const len = p.payload.length;
    if (pt !== PCMU && pt !== PCMA && pt !== this.#slin16) {
      this.#counts.badPayloadType++;
      // It still took a sequence number of our stream: play its slot as silence, not as a loss.
      if (p.ssrc === this.#ssrc) this.#jitter.skip(p.sequence);
      return;
    }
    if (len > MAX_PAYLOAD || (pt === this.#slin16 && (len & 1) === 1)) {
      this.#counts.malformed++;
      return;
    }
    if (!this.#acceptSsrc(p.ssrc, p.sequence, now)) {
      this.#counts.foreignSsrc++;
      return;
    }
    if (expected !== null && this.#sourcePort === null) this.#sourcePort = rinfo.port;
    this.#counts.packets++;
    this.#counts.bytes += msg.length;
    this.#lastAt = now;
    this.#ssrcLastAt = now;
    this.#updateJitter(p.timestamp, now, pt === this.#slin16 ? 16000 : 8000);
    if (this.#firstAt === null) {
      this.#firstAt = now;
      const onFirst = this.#opts.onFirstPacket;
      if (onFirst) {
        try {
          onFirst();
        } catch {
          this.#counts.listenerErrors++;
        }
      }
    }
    if (len === 0) this.#jitter.skip(p.sequence);
    else this.#jitter.push(p.sequence, p.payload, pt);
  }

  /**
   * Token bucket: `maxPacketRate` per second, MAX_BURST at once. A datagram beyond it mutes the stream
   * for RATE_MUTE_MS, renewed by every further excess, so a flood is dropped whole, not thinned out.
   */
  #withinRate(now: number): boolean {
    if (this.#tokensAt >= 0) this.#tokens = Math.min(MAX_BURST, this.#tokens + (now - this.#tokensAt) * this.#ratePerMs);
    this.#tokensAt = now;
    if (this.#tokens >= 1) this.#tokens -= 1;
    else this.#mutedUntil = now + RATE_MUTE_MS;
    return now >= this.#mutedUntil;
  }

  /**
   * Latches the first SSRC. Another SSRC is a candidate: it takes over once ours has been silent for
   * SSRC_SILENCE_MS and it has sent SSRC_TAKEOVER_PACKETS consecutive packets in sequence; until then
   * its packets are dropped. While ours is alive, no number of packets of another SSRC take over.
   */
  #acceptSsrc(ssrc: number, seq: number, now: number): boolean {
    if (ssrc === this.#ssrc) {
      this.#candidate = null;
      return true;
    }
    if (this.#ssrc === null) {
      this.#ssrc = ssrc;
      return true;
    }
    if (ssrc === this.#candidate && seq === ((this.#candidateSeq + 1) & 0xffff)) this.#candidateRun++;
    else {
      this.#candidate = ssrc;
      this.#candidateRun = 1;
    }
    this.#candidateSeq = seq;
    if (now - this.#ssrcLastAt < SSRC_SILENCE_MS || this.#candidateRun < SSRC_TAKEOVER_PACKETS) return false;
    // Play out what the old stream left in the buffer, then start afresh.
    this.#jitter.reset();
    this.#decimator.reset();
    this.#lastPlayedPt = -1;
    this.#prevArrival = -1;
    this.#ssrc = ssrc;
    this.#candidate = null;
    this.#counts.ssrcChanges++;
    return true;
  }

  /** RFC 3550 6.4.1: J += (|D| - J) / 16, D the change in transit time between consecutive arrivals. */
  #updateJitter(timestamp: number, now: number, rate: number): void {
    if (this.#prevArrival >= 0 && rate === this.#prevRate) {
      const d = Math.abs(now - this.#prevArrival - (tsDiff(timestamp, this.#prevTs) * 1000) / rate);
      if (d < MAX_JITTER_SAMPLE_MS) this.#jitterMs += (d - this.#jitterMs) / 16;
    }
    this.#prevArrival = now;
    this.#prevTs = timestamp;
    this.#prevRate = rate;
  }

  #play(payload: Uint8Array | null, pt: number): void {
    if (this.#state !== 'open') return;
    const pcm = this.#pcm;
    let n: number;
    if (payload === null) {
      n = this.#frameSamples;
      pcm.fill(0, 0, n);
    } else if (pt === PCMU) {
      decodeUlaw(payload, pcm);
      n = payload.length;
    } else if (pt === PCMA) {
      decodeAlaw(payload, pcm);
      n = payload.length;
    } else {
      // Switching into slin16 mid-stream: do not filter across the two streams.
      if (this.#lastPlayedPt !== pt) this.#decimator.reset();
      const m = decodeSlin16BE(payload, this.#pcm16k);
      n = this.#decimator.process(this.#pcm16k, m, pcm, 0);
    }
    if (payload !== null) {
      this.#lastPlayedPt = pt;
      if (n > 0) this.#frameSamples = n;
    }
    if (n === 0) return;
    try {
      this.#opts.onAudio(pcm, n);
    } catch {
      this.#counts.listenerErrors++;
    }
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: already closed
      resolve();
    }
  });
}

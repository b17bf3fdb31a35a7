import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeAlaw, decodeUlaw } from '../audio/g711.js';
import { Decimator16to8, decodeSlin16BE } from '../audio/resample.js';
import { JitterBuffer } from './jitter.js';
import { parseRtp } from './packet.js';

export interface RtpReceiverOptions {
  host: string;
  port: number;
  /** Packets from any other address are dropped and counted; without a port, the first packet's port is latched. */
  expectedSource?: { address: string; port?: number };
  /** Asterisk's slin16 has a dynamic payload type and no SDP to announce it: 118 in Asterisk 22. */
  slin16PayloadType?: number;
  jitterDepthPackets?: number;
  /** Decoded 8 kHz audio, 160 samples per 20 ms packet, zeros for a lost packet. The array is reused. */
  onAudio(samples: Float32Array, length: number): void;
  onFirstPacket?(): void;
}

export interface RtpStats {
  packets: number;
  bytes: number;
  lost: number;
  late: number;
  duplicate: number;
  reordered: number;
  foreignSource: number;
  foreignSsrc: number;
  badPayloadType: number;
  /** Unparseable, or a payload larger than 80 ms of slin16. */
  malformed: number;
  ssrcChanges: number;
  /** RFC 3550 interarrival jitter, in ms. */
  jitterMs: number;
  firstPacketAt: number | null;
  lastPacketAt: number | null;
}

const PCMU = 0;
const PCMA = 8;
const FRAME_8K = 160;
/** 80 ms of slin16; anything larger is not a telephony packet. */
const MAX_PAYLOAD = 1280;
/** A new SSRC takes over after the current one has been silent this long ... */
const SSRC_SILENCE_MS = 200;
/** ... or after this many consecutive packets from it. */
const SSRC_TAKEOVER_PACKETS = 5;

/**
 * One call's RTP: a UDP socket, the source and SSRC checks, the jitter buffer and G.711/slin16 decoding
 * to 8 kHz floats. Nothing a peer sends can throw out of the receive handler: bad packets are counted.
 */
export class RtpReceiver {
  readonly #opts: RtpReceiverOptions;
  readonly #slin16: number;
  readonly #socket: Socket;
  readonly #jitter: JitterBuffer;
  readonly #pcm = new Float32Array(MAX_PAYLOAD);
  readonly #pcm16k = new Float32Array(640);
  readonly #decimator = new Decimator16to8();
  #sourcePort: number | null;
  #ssrc: number | null = null;
  #ssrcLastAt = 0;
  #candidate: number | null = null;
  #candidateRun = 0;
  #payloadType = PCMU;
  #counts = { packets: 0, bytes: 0, foreignSource: 0, foreignSsrc: 0, badPayloadType: 0, malformed: 0, ssrcChanges: 0 };
  #firstAt: number | null = null;
  #lastAt: number | null = null;
  #jitterTs = 0;
  #transit: number | null = null;
  #closed = false;
  #bound = false;

  constructor(opts: RtpReceiverOptions) {
    this.#opts = opts;
    this.#slin16 = opts.slin16PayloadType ?? 118;
    this.#sourcePort = opts.expectedSource?.port ?? null;
    this.#socket = createSocket({ type: 'udp4', recvBufferSize: 256 * 1024 });
    this.#jitter = new JitterBuffer({
      depthPackets: opts.jitterDepthPackets ?? 3,
      maxGapPackets: 50,
      onFrame: (payload) => this.#play(payload),
    });
  }

  get port(): number {
    return this.#opts.port;
  }

  get stats(): RtpStats {
    const j = this.#jitter.stats;
    return {
      ...this.#counts,
      lost: j.lost,
      late: j.late,
      duplicate: j.duplicate,
      reordered: j.reordered,
      jitterMs: (this.#jitterTs / this.#clockRate()) * 1000,
      firstPacketAt: this.#firstAt,
      lastPacketAt: this.#lastAt,
    };
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#socket.once('error', onError);
      this.#socket.bind(this.#opts.port, this.#opts.host, () => {
        this.#socket.off('error', onError);
        this.#bound = true;
        // After binding, socket errors (e.g. ICMP-triggered) must not crash the process.
        this.#socket.on('error', () => undefined);
        this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
        resolve(this.#socket.address().port);
      });
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (!this.#bound) {
      try {
        this.#socket.close();
      } catch {
        // never bound: nothing to release
      }
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const expected = this.#opts.expectedSource;
    if (expected && rinfo.address !== expected.address) {
      this.#counts.foreignSource++;
      return;
    }
    if (this.#sourcePort !== null && rinfo.port !== this.#sourcePort) {
      this.#counts.foreignSource++;
      return;
    }
    const p = parseRtp(msg);
    if (!p.ok || p.payload.length > MAX_PAYLOAD) {
      this.#counts.malformed++;
      return;
    }
    if (p.payloadType !== PCMU && p.payloadType !== PCMA && p.payloadType !== this.#slin16) {
      this.#counts.badPayloadType++;
      // In our stream it still took a sequence number: play its 20 ms as silence, not as a loss.
      if (p.ssrc === this.#ssrc) this.#jitter.skip(p.sequence);
      return;
    }
    const now = performance.now();
    if (!this.#acceptSsrc(p.ssrc, now)) {
      this.#counts.foreignSsrc++;
      return;
    }
    if (expected && this.#sourcePort === null) this.#sourcePort = rinfo.port;
    this.#counts.packets++;
    this.#counts.bytes += msg.length;
    this.#lastAt = now;
    this.#ssrcLastAt = now;
    this.#payloadType = p.payloadType;
    this.#updateJitter(p.timestamp, now);
    if (this.#firstAt === null) {
      this.#firstAt = now;
      this.#opts.onFirstPacket?.();
    }
    if (p.payload.length === 0) this.#jitter.skip(p.sequence);
    else this.#jitter.push(p.sequence, p.payload);
  }

  #acceptSsrc(ssrc: number, now: number): boolean {
    if (this.#ssrc === null || ssrc === this.#ssrc) {
      this.#ssrc = ssrc;
      this.#candidate = null;
      return true;
    }
    if (ssrc === this.#candidate) this.#candidateRun++;
    else {
      this.#candidate = ssrc;
      this.#candidateRun = 1;
    }
    if (now - this.#ssrcLastAt < SSRC_SILENCE_MS && this.#candidateRun < SSRC_TAKEOVER_PACKETS) return false;
    // A legitimate new stream (re-bridged or rebuilt tap): play out the old one and start afresh.
    this.#ssrc = ssrc;
    this.#candidate = null;
    this.#transit = null;
    this.#decimator.reset();
    this.#jitter.reset();
    this.#counts.ssrcChanges++;
    return true;
  }

  #updateJitter(timestamp: number, now: number): void {
    const arrival = (now / 1000) * this.#clockRate();
    const transit = arrival - timestamp;
    if (this.#transit !== null) {
      const d = Math.abs(transit - this.#transit);
      // Skip the one difference that spans a timestamp wrap (or a stream restart).
      if (d < 2 ** 30) this.#jitterTs += (d - this.#jitterTs) / 16;
    }
    this.#transit = transit;
  }

  #clockRate(): number {
    return this.#payloadType === this.#slin16 ? 16000 : 8000;
  }

  #play(payload: Uint8Array | null): void {
    if (this.#closed) return;
    const pcm = this.#pcm;
    if (payload === null) {
      pcm.fill(0, 0, FRAME_8K);
      this.#opts.onAudio(pcm, FRAME_8K);
      return;
    }
    let n: number;
    if (this.#payloadType === PCMU) {
      decodeUlaw(payload, pcm);
      n = payload.length;
    } else if (this.#payloadType === PCMA) {
      decodeAlaw(payload, pcm);
      n = payload.length;
    } else {
      const m = decodeSlin16BE(payload, this.#pcm16k);
      n = this.#decimator.process(this.#pcm16k, m, pcm, 0);
    }
    this.#opts.onAudio(pcm, n);
  }
}

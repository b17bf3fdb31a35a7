import { createSocket, type Socket } from 'node:dgram';
import { encodeAlawSample, encodeUlawSample } from '../../audio/g711.js';
import type { PacedStream, RtpPacer } from '../rtp-sender.js';

/**
 * Simulated audio: what a party says (an AudioSource on its own wall clock), and the RTP stream
 * an externalMedia channel sends while it is bridged with something that carries audio.
 *
 * Matches shared/asterisk/README.md "RTP observations": 20 ms packets, PT 0 (ulaw, 160 bytes),
 * 8 (alaw, 160 bytes) or 118 (slin16: 320 big-endian samples at 16 kHz, the 8 kHz audio upsampled),
 * seq +1, timestamp +160 (+320 for slin16) from 160, one random SSRC per channel, marker never set.
 * The stream runs while something audible is bridged with the externalMedia channel and stops when
 * that goes (e.g. the snooped caller hangs up); the channel's own UDP socket is its
 * UNICASTRTP_LOCAL_PORT, so packets come from the address the app reads from the channel.
 */

const RATE = 8000;
const FRAME = 160;

/** 8 kHz audio starting at `startedAt` (performance.now() ms), optionally looped; silence after the end. */
export class AudioSource {
  readonly samples: Float32Array;
  readonly loop: boolean;
  readonly startedAt: number;

  constructor(samples: Float32Array, loop = false, startedAt = performance.now()) {
    this.samples = samples;
    this.loop = loop;
    this.startedAt = startedAt;
  }

  /** Sample index of wall time `nowMs`. */
  positionAt(nowMs: number): number {
    return Math.max(0, Math.floor(((nowMs - this.startedAt) * RATE) / 1000));
  }

  sample(index: number): number {
    const n = this.samples.length;
    if (n === 0 || index < 0) return 0;
    if (index < n) return this.samples[index]!;
    return this.loop ? this.samples[index % n]! : 0;
  }
}

/** Whatever the bridge feeds an externalMedia channel: sources summed, each on its own timeline. */
export type TapFeed = () => readonly (AudioSource | null)[];

export type MediaFormat = 'ulaw' | 'alaw' | 'slin16';
export const PAYLOAD_TYPE: Record<MediaFormat, number> = { ulaw: 0, alaw: 8, slin16: 118 };

export class TapStream implements PacedStream {
  readonly ssrc = Math.floor(Math.random() * 0x100000000) >>> 0;
  readonly format: MediaFormat;
  readonly #socket: Socket;
  readonly #to: { host: string; port: number };
  readonly #feed: TapFeed;
  readonly #mix = new Float32Array(FRAME + 1);
  #seq = Math.floor(Math.random() * 0x10000);
  #ts = FRAME;
  #active = false;
  #startedAt = 0;
  #frames = 0;
  /** Source -> its sample index when this run of the stream started. */
  #origins = new Map<AudioSource, number>();
  sent = 0;

  constructor(socket: Socket, to: { host: string; port: number }, format: MediaFormat, feed: TapFeed) {
    this.#socket = socket;
    this.#to = to;
    this.format = format;
    this.#feed = feed;
  }

  get done(): boolean {
    return !this.#active;
  }

  get active(): boolean {
    return this.#active;
  }

  start(): void {
    this.#active = true;
    this.#startedAt = performance.now();
    this.#frames = 0;
    this.#origins.clear();
  }

  stop(): void {
    this.#active = false;
  }

  sendNext(): void {
    if (!this.#active) return;
    this.#fill();
    const slin = this.format === 'slin16';
    const payloadBytes = slin ? FRAME * 4 : FRAME;
    const packet = Buffer.allocUnsafe(12 + payloadBytes);
    packet[0] = 0x80;
    packet[1] = PAYLOAD_TYPE[this.format];
    packet.writeUInt16BE(this.#seq, 2);
    packet.writeUInt32BE(this.#ts >>> 0, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    const mix = this.#mix;
    if (this.format === 'ulaw') for (let i = 0; i < FRAME; i++) packet[12 + i] = encodeUlawSample(mix[i]!);
    else if (this.format === 'alaw') for (let i = 0; i < FRAME; i++) packet[12 + i] = encodeAlawSample(mix[i]!);
    else {
      // 8 -> 16 kHz by linear interpolation; mix[FRAME] is the next frame's first sample.
      for (let i = 0; i < FRAME; i++) {
        const a = mix[i]!;
        const b = mix[i + 1]!;
        packet.writeInt16BE(toInt16(a), 12 + i * 4);
        packet.writeInt16BE(toInt16((a + b) / 2), 14 + i * 4);
      }
    }
    this.#socket.send(packet, this.#to.port, this.#to.host);
    this.sent++;
    this.#frames++;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + (slin ? FRAME * 2 : FRAME)) >>> 0;
  }

  #fill(): void {
    const mix = this.#mix;
    mix.fill(0);
    for (const source of this.#feed()) {
      if (!source) continue;
      let origin = this.#origins.get(source);
      if (origin === undefined) {
        origin = source.positionAt(this.#startedAt);
        this.#origins.set(source, origin);
      }
      const at = origin + this.#frames * FRAME;
      for (let i = 0; i <= FRAME; i++) mix[i] = mix[i]! + source.sample(at + i);
    }
  }
}

function toInt16(s: number): number {
  const v = Math.round(s * 32767);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Binds the UDP socket an externalMedia channel sends from (its UNICASTRTP_LOCAL_PORT). */
export async function bindRtpSocket(host: string): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {}); // ICMP unreachable from a closed receiver must not crash the simulator
  socket.on('message', () => {}); // inbound RTP (direction=both) is accepted and ignored
  return socket;
}

/** Starts and stops the streams on the shared pacer. */
export class TapScheduler {
  readonly #pacer: RtpPacer;

  constructor(pacer: RtpPacer) {
    this.#pacer = pacer;
  }

  run(stream: TapStream): void {
    if (stream.active) return;
    this.#pacer.remove(stream);
    stream.start();
    this.#pacer.add(stream);
  }

  halt(stream: TapStream): void {
    stream.stop();
    this.#pacer.remove(stream);
  }
}

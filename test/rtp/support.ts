/** Shared by the rtp tests: packet builder, captures, reference G.711, loopback sockets. Written from the RFCs, not from src/. */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASTERISK } from '../helpers/paths.js';
import { mulberry32 } from '../../src/sim/prng.js';

export interface RtpFields {
  version?: number;
  pt?: number;
  marker?: boolean;
  seq?: number;
  ts?: number;
  ssrc?: number;
  csrc?: number[];
  /** Header extension: profile and body (a multiple of 4 bytes). */
  ext?: { profile: number; body: Uint8Array };
  payload?: Uint8Array;
  /** Padding bytes to append (last one holds the count). */
  pad?: number;
}

/** Builds an RTP datagram byte by byte per RFC 3550 5.1. */
export function buildRtp(f: RtpFields = {}): Buffer {
  const csrc = f.csrc ?? [];
  const ext = f.ext;
  if (ext && ext.body.length % 4 !== 0) throw new Error('extension body must be a multiple of 4 bytes');
  const payload = f.payload ?? new Uint8Array(0);
  const pad = f.pad ?? 0;
  const b = Buffer.alloc(12 + 4 * csrc.length + (ext ? 4 + ext.body.length : 0) + payload.length + pad);
  b[0] = ((f.version ?? 2) << 6) | (pad > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrc.length;
  b[1] = (f.marker ? 0x80 : 0) | (f.pt ?? 0);
  b.writeUInt16BE((f.seq ?? 0) & 0xffff, 2);
  b.writeUInt32BE((f.ts ?? 0) >>> 0, 4);
  b.writeUInt32BE((f.ssrc ?? 0x11223344) >>> 0, 8);
  let o = 12;
  for (const c of csrc) {
    b.writeUInt32BE(c >>> 0, o);
    o += 4;
  }
  if (ext) {
    b.writeUInt16BE(ext.profile, o);
    b.writeUInt16BE(ext.body.length / 4, o + 2);
    b.set(ext.body, o + 4);
    o += 4 + ext.body.length;
  }
  b.set(payload, o);
  o += payload.length;
  if (pad > 0) b[o + pad - 1] = pad;
  return b;
}

/** Deterministic PRNG: the simulator's own. */
export const prng = mulberry32;

/** ITU-T G.711 mu-law expansion (the classic Sun reference), scaled to [-1, 1). */
export function ulawRef(code: number): number {
  const u = ~code & 0xff;
  const mag = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
  return (u & 0x80 ? -mag : mag) / 32768;
}

/** ITU-T G.711 A-law expansion, scaled to [-1, 1). */
export function alawRef(code: number): number {
  const a = code ^ 0x55;
  const seg = (a >> 4) & 7;
  let mag = (a & 0x0f) << 4;
  mag = seg === 0 ? mag + 8 : (mag + 0x108) << (seg - 1);
  return (a & 0x80 ? mag : -mag) / 32768;
}

export interface CapturedPacket {
  t_ms: number;
  hex: string;
}

export const CAPTURES = {
  ulaw: join(ASTERISK, 'rtp', 'ulaw-snoop-in.packets.json'),
  slin16: join(ASTERISK, 'rtp', 'slin16-snoop-in.packets.json'),
} as const;

export const HAVE_CAPTURES = existsSync(CAPTURES.ulaw) && existsSync(CAPTURES.slin16);
if (!HAVE_CAPTURES) {
  console.warn(`rtp tests: Asterisk captures not found under ${join(ASTERISK, 'rtp')}; capture-based tests are skipped`);
}

export function loadCapture(kind: keyof typeof CAPTURES): Buffer[] {
  const { packets } = JSON.parse(readFileSync(CAPTURES[kind], 'utf8')) as { packets: CapturedPacket[] };
  return packets.map((p) => Buffer.from(p.hex, 'hex'));
}

/** Sockets and closables opened by a test, closed in afterEach. */
export class Cleanup {
  readonly #items: (() => Promise<void> | void)[] = [];

  add(close: () => Promise<void> | void): void {
    this.#items.push(close);
  }

  async run(): Promise<void> {
    for (const close of this.#items.splice(0).reverse()) await close();
  }
}

export async function udpSocket(cleanup: Cleanup, host = '127.0.0.1', port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve();
    });
  });
  cleanup.add(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

/** Sends datagrams one after another to 127.0.0.1:port, then waits for the receiver to drain them. */
export async function sendAll(s: Socket, port: number, packets: Uint8Array[], gapMs = 0): Promise<void> {
  for (const p of packets) {
    await new Promise<void>((resolve, reject) => s.send(p, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    if (gapMs > 0) await sleep(gapMs);
  }
  await sleep(60);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `cond` holds (or the time is up), for counters fed by real sockets. */
export async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await sleep(5);
}

/**
 * A base port such that base..base+n-1 can all be bound right now on 127.0.0.1, chosen below Linux's
 * ephemeral range and away from the fixed ranges other test files use (41000+, 45100-45399).
 */
export async function freePortRange(n: number): Promise<number> {
  const rand = prng(process.pid ^ Date.now());
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(rand() * 10000);
    const held: Socket[] = [];
    let ok = true;
    for (let p = base; p < base + n && ok; p++) {
      const s = createSocket('udp4');
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(p, '127.0.0.1', () => resolve(true));
      });
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free UDP ports found`);
}

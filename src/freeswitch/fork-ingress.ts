import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../log/logger.js';
import { decodeL16LE } from './l16.js';

/**
 * The audio ingress for FreeSWITCH: a WebSocket server of ours that `mod_audio_fork` connects to when
 * told `uuid_audio_fork <uuid> start <url> mono 8k <metadata>`. What arrives (README, measured):
 *
 * ```
 *   GET /fork/<token>   Host: 127.0.0.1 (no port), Origin: http://127.0.0.1,
 *                       Sec-WebSocket-Protocol: audio.drachtio.org
 *   text    {"callId":"<uuid>"}            the metadata, verbatim, first (no spaces: FreeSWITCH
 *                                          splits the api arguments on spaces)
 *   binary  320 B = 160 samples L16 LE     every 20 ms; the first may be 640 or 1280 B
 *   ...
 *   close   1000 ""                        at hang-up, kill, transfer away, shutdown (1006 on a crash)
 * ```
 *
 * Hardened like the RTP path (src/rtp/receiver.ts): a connection is accepted only for a call that
 * `expect()` registered, with that call's unguessable token in the path (403 otherwise: strangers
 * cannot inject audio), at most one live connection per call (409), at most `maxConnections` (503);
 * the metadata must come first and name the same call (else close 1008); messages above
 * `maxMessageBytes` close the connection (1009); binary frames beyond `maxFrameRate` are dropped and
 * the stream muted for a second, as the RTP receiver does; odd-length frames are dropped. Every
 * refusal and drop is counted in `stats` (fork-metrics.ts exports them to Prometheus).
 *
 * The sink gets 8 kHz mono floats in [-1, 1] (and the Int16 samples), the same contract as
 * RtpReceiver's onAudio, so the call pipeline cannot tell which switch the audio came from.
 *
 * Events (listeners must not throw):
 * | event | when | payload |
 * | --- | --- | --- |
 * | connected | the metadata of an expected call arrived | callId |
 * | closed | a call's fork connection closed (`code` 1000 = hang-up or stop; 1006 = lost) | ForkClosed |
 * | rejected | an upgrade or a connection was refused | reason, detail |
 */
export interface ForkSink {
  /** `samples` (floats) and `pcm16` are reused after the call returns: copy what you keep. */
  onAudio(samples: Float32Array, length: number, pcm16: Int16Array): void;
}

export interface ForkIngressOptions {
  /** Address to bind (SER_RTP_HOST: also the host FreeSWITCH is told to connect to). */
  host: string;
  /** 0 binds any free port. */
  port: number;
  /** The base URL FreeSWITCH is told (SER_FORK_URL behind NAT), default ws://host:port. */
  advertisedUrl?: string;
  maxConnections?: number;
  /** Largest WebSocket message accepted (default 8192 B; stereo 16k is 1280 B per 20 ms). */
  maxMessageBytes?: number;
  /** Binary messages per second per connection (default 200; mod_audio_fork sends 50). */
  maxFrameRate?: number;
  /** The metadata text frame must arrive within this after the upgrade (default 2000 ms). */
  metadataTimeoutMs?: number;
  logger?: Logger;
}

export type ForkRejectReason = 'badPath' | 'unknownToken' | 'duplicate' | 'capacity' | 'noMetadata' | 'badMetadata';
export type ForkDropReason = 'rateCapped' | 'malformed' | 'tooLarge' | 'text';

export interface ForkIngressStats {
  accepted: number;
  rejected: Record<ForkRejectReason, number>;
  dropped: Record<ForkDropReason, number>;
  frames: number;
  samples: number;
  listenerErrors: number;
  /** Live connections. */
  open: number;
}

export interface ForkCallStats {
  frames: number;
  samples: number;
  bytes: number;
  rateCapped: number;
  malformed: number;
  connectedAt: number | null;
  lastFrameAt: number | null;
}

export interface ForkClosed {
  callId: string;
  code: number;
  reason: string;
  stats: ForkCallStats;
}

export interface ForkIngressEvents {
  connected: [callId: string];
  closed: [info: ForkClosed];
  rejected: [reason: ForkRejectReason, detail: string];
}

export interface ForkTarget {
  /** The URL for uuid_audio_fork, token included: treat it as a secret (never log it). */
  url: string;
  /** Compact JSON, no spaces: the 6th argument of uuid_audio_fork. */
  metadata: string;
}

interface Expected {
  callId: string;
  token: string;
  sink: ForkSink;
  ws: WebSocket | null;
  stats: ForkCallStats;
}

const PATH = /^\/fork\/([A-Za-z0-9_-]{16,64})$/;
const MAX_BURST = 50;
const RATE_MUTE_MS = 1000;
const STATUS: Record<string, string> = { 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' };

export class ForkIngress extends EventEmitter<ForkIngressEvents> {
  readonly #o: ForkIngressOptions;
  readonly #maxMessage: number;
  readonly #ratePerMs: number;
  readonly #byToken = new Map<string, Expected>();
  readonly #byCall = new Map<string, Expected>();
  readonly #upgrading = new Set<Duplex>();
  readonly #stats: ForkIngressStats = {
    accepted: 0,
    rejected: { badPath: 0, unknownToken: 0, duplicate: 0, capacity: 0, noMetadata: 0, badMetadata: 0 },
    dropped: { rateCapped: 0, malformed: 0, tooLarge: 0, text: 0 },
    frames: 0,
    samples: 0,
    listenerErrors: 0,
    open: 0,
  };
  #http: Server | null = null;
  #wss: WebSocketServer | null = null;
  #port = 0;

  constructor(opts: ForkIngressOptions) {
    super();
    this.#o = opts;
    this.#maxMessage = opts.maxMessageBytes ?? 8192;
    const rate = opts.maxFrameRate ?? 200;
    if (!(rate >= 1)) throw new RangeError(`maxFrameRate must be at least 1, got ${rate}`);
    this.#ratePerMs = rate / 1000;
  }

  get port(): number {
    return this.#port;
  }

  get baseUrl(): string {
    return (this.#o.advertisedUrl ?? `ws://${this.#o.host.includes(':') ? `[${this.#o.host}]` : this.#o.host}:${this.#port}`).replace(/\/+$/, '');
  }

  get stats(): ForkIngressStats {
    return { ...this.#stats, rejected: { ...this.#stats.rejected }, dropped: { ...this.#stats.dropped } };
  }

  callStats(callId: string): ForkCallStats | null {
    const e = this.#byCall.get(callId);
    return e ? { ...e.stats } : null;
  }

  /** Whether the call's fork is connected now. */
  isConnected(callId: string): boolean {
    return this.#byCall.get(callId)?.ws != null;
  }

  /** Calls registered with expect() and not yet released. */
  get expected(): string[] {
    return [...this.#byCall.keys()];
  }

  /** Binds; resolves the port. Rejects with Node's socket error (EADDRINUSE, EADDRNOTAVAIL ...). */
  async start(): Promise<number> {
    if (this.#http) throw new Error('ForkIngress.start() called twice');
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.#maxMessage, perMessageDeflate: false, clientTracking: false });
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' }).end('WebSocket only\n');
    });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    http.on('clientError', (_err, socket) => socket.destroy());
    this.#http = http;
    this.#wss = wss;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#o.port, this.#o.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const addr = http.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : this.#o.port;
    return this.#port;
  }

  /**
   * Registers a call whose fork we are about to start and returns what to tell FreeSWITCH. Calling it
   * again for the same call returns the same target (and replaces the sink).
   */
  expect(callId: string, sink: ForkSink): ForkTarget {
    let e = this.#byCall.get(callId);
    if (!e) {
      const token = randomBytes(24).toString('base64url');
      e = { callId, token, sink, ws: null, stats: { frames: 0, samples: 0, bytes: 0, rateCapped: 0, malformed: 0, connectedAt: null, lastFrameAt: null } };
      this.#byCall.set(callId, e);
      this.#byToken.set(token, e);
    } else e.sink = sink;
    return { url: `${this.baseUrl}/fork/${e.token}`, metadata: JSON.stringify({ callId }) };
  }

  /** Forgets the call; a live connection is closed with 1000. Returns its stats. Idempotent. */
  release(callId: string): ForkCallStats | null {
    const e = this.#byCall.get(callId);
    if (!e) return null;
    this.#byCall.delete(callId);
    this.#byToken.delete(e.token);
    e.ws?.close(1000, 'released');
    return { ...e.stats };
  }

  /** Closes every connection (1001 going away) and the listener. */
  async close(): Promise<void> {
    for (const e of this.#byCall.values()) e.ws?.close(1001, 'ser-ari stopping');
    for (const s of this.#upgrading) s.destroy();
    this.#byCall.clear();
    this.#byToken.clear();
    const http = this.#http;
    this.#http = null;
    if (!http) return;
    this.#wss?.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  #refuse(socket: Duplex, status: number, reason: ForkRejectReason, detail: string): void {
    this.#stats.rejected[reason]++;
    this.#o.logger?.warn({ reason, detail }, 'audio fork connection refused');
    this.emit('rejected', reason, detail);
    socket.end(`HTTP/1.1 ${status} ${STATUS[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0]!;
    const m = PATH.exec(path);
    const from = req.socket.remoteAddress ?? '?';
    if (!m) return this.#refuse(socket, 404, 'badPath', `from ${from}`);
    const e = this.#byToken.get(m[1]!);
    if (!e) return this.#refuse(socket, 403, 'unknownToken', `from ${from}`);
    if (e.ws) return this.#refuse(socket, 409, 'duplicate', `call ${e.callId} already has a fork connection (from ${from})`);
    if (this.#stats.open + this.#upgrading.size >= (this.#o.maxConnections ?? 1000)) {
      return this.#refuse(socket, 503, 'capacity', `${this.#stats.open} connections open (from ${from})`);
    }
    this.#upgrading.add(socket);
    this.#wss!.handleUpgrade(req, socket, head, (ws) => {
      this.#upgrading.delete(socket);
      // A release(), a second upgrade or close() may have happened meanwhile.
      if (this.#byToken.get(m[1]!) !== e || e.ws || !this.#http) {
        this.#stats.rejected.duplicate++;
        ws.close(1008, 'not expected');
        return;
      }
      this.#onConnection(ws, e);
    });
  }

  #onConnection(ws: WebSocket, e: Expected): void {
    e.ws = ws;
    this.#stats.open++;
    const floats = new Float32Array(this.#maxMessage >> 1);
    const pcm16 = new Int16Array(this.#maxMessage >> 1);
    let metadataSeen = false;
    let tokens = MAX_BURST;
    let tokensAt = -1;
    let mutedUntil = -1;
    const metadataTimer = setTimeout(() => {
      if (metadataSeen) return;
      this.#stats.rejected.noMetadata++;
      this.emit('rejected', 'noMetadata', `call ${e.callId}: no metadata within ${this.#o.metadataTimeoutMs ?? 2000} ms`);
      ws.close(1008, 'metadata expected first');
    }, this.#o.metadataTimeoutMs ?? 2000);

    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#stats.dropped.tooLarge++;
      else e.stats.malformed++;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      clearTimeout(metadataTimer);
      this.#stats.open--;
      if (e.ws === ws) e.ws = null;
      this.emit('closed', { callId: e.callId, code, reason: reason.toString(), stats: { ...e.stats } });
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = data as Buffer; // binaryType 'nodebuffer' (the default): one Buffer per message
      if (!metadataSeen) {
        if (isBinary || !this.#metadataMatches(bytes, e.callId)) {
          const reason: ForkRejectReason = isBinary ? 'noMetadata' : 'badMetadata';
          this.#stats.rejected[reason]++;
          this.emit('rejected', reason, `call ${e.callId}`);
          ws.close(1008, isBinary ? 'metadata expected first' : 'metadata does not match the call');
          return;
        }
        metadataSeen = true;
        clearTimeout(metadataTimer);
        e.stats.connectedAt = performance.now();
        this.#stats.accepted++;
        this.emit('connected', e.callId);
        return;
      }
      if (!isBinary) {
        this.#stats.dropped.text++;
        return;
      }
      const now = performance.now();
      if (tokensAt >= 0) tokens = Math.min(MAX_BURST, tokens + (now - tokensAt) * this.#ratePerMs);
      tokensAt = now;
      if (tokens >= 1) tokens -= 1;
      else mutedUntil = now + RATE_MUTE_MS;
      if (now < mutedUntil) {
        e.stats.rateCapped++;
        this.#stats.dropped.rateCapped++;
        return;
      }
      if ((bytes.length & 1) === 1 || bytes.length === 0) {
        e.stats.malformed++;
        this.#stats.dropped.malformed++;
        return;
      }
      const n = decodeL16LE(bytes, floats, pcm16);
      e.stats.frames++;
      e.stats.samples += n;
      e.stats.bytes += bytes.length;
      e.stats.lastFrameAt = now;
      this.#stats.frames++;
      this.#stats.samples += n;
      try {
        e.sink.onAudio(floats, n, pcm16);
      } catch {
        this.#stats.listenerErrors++;
      }
    });
  }

  #metadataMatches(bytes: Buffer, callId: string): boolean {
    try {
      const o = JSON.parse(bytes.toString('utf8')) as { callId?: unknown };
      return o?.callId === callId;
    } catch {
      return false;
    }
  }
}

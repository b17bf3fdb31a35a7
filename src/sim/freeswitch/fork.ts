import { WebSocket } from 'ws';
import { encodeL16LE } from '../../freeswitch/l16.js';

/**
 * One `uuid_audio_fork ... mono 8k` as mod_audio_fork does it (README, measured): a WebSocket with the
 * sub-protocol `audio.drachtio.org`, `Host` without the port and `Origin: http://<host>`; the metadata
 * as the first (text) message; then the caller's voice as raw L16 LE, 320 bytes every 20 ms, the first
 * message 640 bytes (two frames gathered between the connect and the first write); close 1000 "" at
 * hang-up or stop; 1006 (no close frame) when FreeSWITCH is killed. When the far end closes or drops
 * the connection, `onDropped` (mod_audio_fork's CONNECTION_DROPPED: a `mod_audio_fork::disconnect`).
 *
 * Frames are paced on the wall clock (a late timer sends the frames that are due), so the stream keeps
 * 50 frames/s on average as the recordings do (p50 20.0 ms).
 */
export interface SimForkOptions {
  url: string;
  metadata: string | null;
  /** The caller's voice, 8 kHz in [-1, 1]; silence follows it until the fork stops. */
  audio: Float32Array;
  onConnect(): void;
  onConnectFailed(): void;
  /** The far end closed or lost the connection (not our close/kill): mod_audio_fork's CONNECTION_DROPPED. */
  onDropped?(): void;
  /** The clip has been sent entirely (the sim then hangs the caller up if asked to). */
  onAudioEnd?(): void;
}

const FRAME = 160;

export class SimFork {
  readonly #o: SimForkOptions;
  readonly #ws: WebSocket;
  #timer: NodeJS.Timeout | null = null;
  #startedAt = 0;
  #sentFrames = 0;
  #ended = false;
  framesSent = 0;
  textsSent: string[] = [];
  closeCode: number | null = null;
  connected = false;
  #closedByUs = false;
  #paused = false;

  constructor(o: SimForkOptions) {
    this.#o = o;
    const u = new URL(o.url);
    this.#ws = new WebSocket(o.url, 'audio.drachtio.org', { headers: { Host: u.hostname, Origin: `http://${u.hostname}` }, perMessageDeflate: false });
    this.#ws.on('error', () => undefined);
    this.#ws.on('unexpected-response', (_req, res) => {
      res.resume();
      this.#ws.terminate();
    });
    this.#ws.on('open', () => {
      this.connected = true;
      if (o.metadata !== null) this.#ws.send(o.metadata);
      o.onConnect();
      this.#startedAt = performance.now();
      this.#timer = setInterval(() => this.#tick(), 5);
      this.#tick();
    });
    this.#ws.on('close', (code) => {
      this.closeCode ??= code;
      this.#stopTimer();
      if (!this.connected) o.onConnectFailed();
      else if (!this.#closedByUs) o.onDropped?.();
    });
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** A text frame from FreeSWITCH's side (`uuid_audio_fork <uuid> send_text` / `stop <text>`). */
  sendText(text: string): void {
    if (this.open) {
      this.#ws.send(text);
      this.textsSent.push(text);
    }
  }

  /** The channel's media bugs paused (mod_fifo): the caller's audio goes by unsent until resume(). */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  /** Hang-up, stop, transfer away or shutdown: close 1000 with an empty reason. */
  close(): void {
    this.#closedByUs = true;
    this.#stopTimer();
    this.#ws.close(1000);
  }

  /** SIGKILL: the TCP connection just goes (the server sees 1006). */
  kill(): void {
    this.#closedByUs = true;
    this.#stopTimer();
    this.#ws.terminate();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    if (!this.open) return;
    const due = Math.floor((performance.now() - this.#startedAt) / 20) + 2; // the first write carries two frames
    const audio = this.#o.audio;
    while (this.#sentFrames < due) {
      const first = this.#sentFrames === 0;
      const frames = first ? 2 : 1;
      const start = this.#sentFrames * FRAME;
      const end = start + frames * FRAME;
      this.#sentFrames += frames;
      // Paused (mod_fifo), the media bug gets no frames: this audio is never sent.
      if (!this.#paused) {
        const chunk = new Float32Array(frames * FRAME);
        if (start < audio.length) chunk.set(audio.subarray(start, Math.min(end, audio.length)));
        this.#ws.send(encodeL16LE(chunk));
        this.framesSent++;
      }
      if (!this.#ended && this.#sentFrames * FRAME >= audio.length) {
        this.#ended = true;
        this.#o.onAudioEnd?.();
        if (!this.open) return;
      }
    }
  }
}

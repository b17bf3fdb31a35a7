import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import type { VadOptions } from '../audio/vad.js';
import type { EmotionUpdate } from '../emotion/tracker.js';
import type { InferenceEngine } from '../inference/engine.js';
import type { PortPool } from '../rtp/port-pool.js';
import { RtpReceiver, type RtpStats } from '../rtp/receiver.js';
import { CallPipeline, type CallPipelineStats } from './call-pipeline.js';

export interface AudioPathOptions {
  engine: InferenceEngine;
  ports: PortPool;
  /** Local address the receivers bind (and that Asterisk is told to send to). */
  rtpHost: string;
  slin16PayloadType: number;
  jitterPackets: number;
  /** Per-tap packet-rate cap and SO_RCVBUF (rtp.maxPacketRate, rtp.recvBufferBytes); receiver defaults when absent. */
  maxPacketRate?: number;
  recvBufferBytes?: number;
  minSpeechRatio: number;
  smoothing: number;
  vad?: Partial<VadOptions>;
  logger: Logger;
  /** Windows waiting for inference beyond which new windows are dropped (counted) to stay real-time. */
  maxBacklog?: number;
}

export interface OpenCallOptions {
  /** Only packets from this address (and port, if given) are accepted. */
  expectedSource?: { address: string; port?: number };
}

export interface CallAudioStats {
  callId: string;
  /** The RTP port, null for audio pushed by another ingress (a FreeSWITCH fork). */
  port: number | null;
  rtp: RtpStats | null;
  pipeline: CallPipelineStats;
}

/** Where another ingress (a FreeSWITCH fork) pushes a call's 8 kHz samples. */
export interface AudioStreamSink {
  onAudio(samples: Float32Array, length: number): void;
}

export interface AudioPathEvents {
  emotion: [update: EmotionUpdate];
  'first-packet': [callId: string];
  'call-closed': [stats: CallAudioStats];
}

interface ActiveCall {
  port: number | null;
  receiver: RtpReceiver | null;
  pipeline: CallPipeline;
}

/**
 * All tapped calls of the process, each feeding its pipeline: a UDP port and receiver per call (RTP
 * from Asterisk), or samples another ingress pushes (`openStream`: a FreeSWITCH fork).
 */
export class AudioPath extends EventEmitter<AudioPathEvents> {
  readonly #opts: AudioPathOptions;
  readonly #calls = new Map<string, ActiveCall>();
  readonly #maxBacklog: number;
  #bindError: string | null = null;

  constructor(opts: AudioPathOptions) {
    super();
    this.#opts = opts;
    this.#maxBacklog = opts.maxBacklog ?? 2000;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Why RTP sockets cannot be bound on rtpHost at all (e.g. EADDRNOTAVAIL), null once one binds. */
  get bindError(): string | null {
    return this.#bindError;
  }

  has(callId: string): boolean {
    return this.#calls.has(callId);
  }

  portOf(callId: string): number | undefined {
    return this.#calls.get(callId)?.port ?? undefined;
  }

  pipeline(callId: string): CallPipeline | undefined {
    return this.#calls.get(callId)?.pipeline;
  }

  stats(callId: string): CallAudioStats | null {
    const c = this.#calls.get(callId);
    return c ? { callId, port: c.port, rtp: c.receiver?.stats ?? null, pipeline: c.pipeline.stats } : null;
  }

  /** A call whose audio another ingress pushes; the same pipeline, events and stats as an RTP call. */
  openStream(callId: string): AudioStreamSink {
    let c = this.#calls.get(callId);
    if (!c) {
      c = { port: null, receiver: null, pipeline: this.#pipeline(callId) };
      this.#calls.set(callId, c);
    }
    const pipeline = c.pipeline;
    let first = true;
    return {
      onAudio: (samples, length) => {
        if (first) {
          first = false;
          this.emit('first-packet', callId);
        }
        pipeline.push(samples, length);
      },
    };
  }

  /**
   * Binds a port for the call and starts listening. Resolves null (with a warning) when no port is free,
   * so the caller can leave the call untapped rather than fail it.
   */
  async openCall(callId: string, opts: OpenCallOptions = {}): Promise<{ host: string; port: number } | null> {
    const existing = this.#calls.get(callId);
    if (existing) return existing.port === null ? null : { host: this.#opts.rtpHost, port: existing.port };
    const { ports, logger } = this.#opts;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = ports.acquire();
      if (port === null) {
        logger.warn({ callId, poolSize: ports.size }, 'RTP port pool exhausted: call left untapped');
        return null;
      }
      const pipeline = this.#pipeline(callId);
      const receiver = new RtpReceiver({
        host: this.#opts.rtpHost,
        port,
        ...(opts.expectedSource ? { expectedSource: opts.expectedSource } : {}),
        slin16PayloadType: this.#opts.slin16PayloadType,
        jitterDepthPackets: this.#opts.jitterPackets,
        ...(this.#opts.maxPacketRate ? { maxPacketRate: this.#opts.maxPacketRate } : {}),
        ...(this.#opts.recvBufferBytes ? { recvBufferBytes: this.#opts.recvBufferBytes } : {}),
        onAudio: (samples, length) => pipeline.push(samples, length),
        onFirstPacket: () => this.emit('first-packet', callId),
      });
      try {
        await receiver.start();
      } catch (err) {
        ports.release(port);
        pipeline.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') {
          // No other port of the pool would fix this: the address itself cannot be bound.
          const reason = `cannot bind RTP on ${this.#opts.rtpHost} (rtp.host / SER_RTP_HOST): ${code ?? (err as Error).message}`;
          if (reason !== this.#bindError) logger.error({ callId, code: 'RTP_BIND_FAILED', err: (err as Error).message }, reason);
          this.#bindError = reason;
          return null;
        }
        logger.warn({ callId, port, err: (err as Error).message }, 'RTP port unavailable, trying the next one');
        continue;
      }
      this.#bindError = null;
      this.#calls.set(callId, { port, receiver, pipeline });
      return { host: this.#opts.rtpHost, port };
    }
    logger.warn({ callId }, 'no RTP port could be bound: call left untapped');
    return null;
  }

  /** Pins a call's RTP source, e.g. to the address and port Asterisk reports for its externalMedia channel. */
  expectSource(callId: string, source: { address: string; port?: number }): void {
    this.#calls.get(callId)?.receiver?.expectSource(source);
  }

  async closeCall(callId: string): Promise<CallAudioStats | null> {
    const c = this.#calls.get(callId);
    if (!c) return null;
    this.#calls.delete(callId);
    c.pipeline.close();
    if (c.receiver) await c.receiver.close();
    if (c.port !== null) this.#opts.ports.release(c.port);
    const stats: CallAudioStats = { callId, port: c.port, rtp: c.receiver?.stats ?? null, pipeline: c.pipeline.stats };
    this.emit('call-closed', stats);
    return stats;
  }

  #pipeline(callId: string): CallPipeline {
    const pipeline = new CallPipeline(callId, this.#opts.engine, {
      minSpeechRatio: this.#opts.minSpeechRatio,
      smoothing: this.#opts.smoothing,
      maxBacklog: this.#maxBacklog,
      ...(this.#opts.vad ? { vad: this.#opts.vad } : {}),
    });
    pipeline.on('emotion', (u) => this.emit('emotion', u));
    let errorLogged = false;
    pipeline.on('inference-error', (err) => {
      if (errorLogged) return;
      errorLogged = true;
      this.#opts.logger.error({ callId, err: err.message }, 'inference failed for a window of this call (logged once per call)');
    });
    return pipeline;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#calls.keys()].map((id) => this.closeCall(id)));
  }
}

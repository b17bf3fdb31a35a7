import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { AudioPath } from '../../src/pipeline/audio-path.js';
import { PortPool } from '../../src/rtp/port-pool.js';
import { RtpPacer, RtpStream } from '../../src/sim/rtp-sender.js';
import { HAVE_CREMA_D, MODEL, testActorSpeech } from '../helpers/paths.js';

function meanRaw(updates: EmotionUpdate[], label: string): number {
  const speech = updates.filter((u) => u.raw);
  return speech.reduce((s, u) => s + u.raw![label]!, 0) / speech.length;
}

describe.skipIf(!HAVE_CREMA_D)('RTP over loopback UDP to per-call emotion updates (real model)', () => {
  let engine: InferenceEngine;
  let path: AudioPath;
  let pacer: RtpPacer;
  const ports = new PortPool(45100, 45199);
  const updates = new Map<string, { u: EmotionUpdate; at: number }[]>();

  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 2, maxBatch: 16, maxWaitMs: 10 });
    path = new AudioPath({
      engine,
      ports,
      rtpHost: '127.0.0.1',
      slin16PayloadType: 118,
      jitterPackets: 3,
      minSpeechRatio: 0.25,
      smoothing: 0.5,
      logger: createLogger('silent'),
    });
    path.on('emotion', (u) => {
      const list = updates.get(u.callId) ?? [];
      list.push({ u, at: performance.now() });
      updates.set(u.callId, list);
    });
    pacer = await RtpPacer.create('127.0.0.1');
  });

  afterAll(async () => {
    await pacer.close();
    await path.close();
    await engine.close();
    expect(ports.inUse).toBe(0);
  });

  it('streams four concurrent calls in real time, about one update per second each, angry told from neutral', async () => {
    const calls = [
      { id: 'angry-1', audio: testActorSpeech('ANG', 4, 0) },
      { id: 'angry-2', audio: testActorSpeech('ANG', 4, 4) },
      { id: 'neutral-1', audio: testActorSpeech('NEU', 4, 0) },
      { id: 'neutral-2', audio: testActorSpeech('NEU', 4, 4) },
    ];
    const streams: RtpStream[] = [];
    for (const [i, c] of calls.entries()) {
      const tap = await path.openCall(c.id, { expectedSource: { address: '127.0.0.1' } });
      expect(tap).not.toBeNull();
      const s = new RtpStream({ audio: c.audio, to: tap! });
      streams.push(s);
      pacer.add(s, i * 5);
    }
    const started = performance.now();
    await pacer.finished();
    const playedMs = performance.now() - started;
    for (const c of calls) await path.pipeline(c.id)!.drain();

    for (const c of calls) {
      const list = updates.get(c.id) ?? [];
      const seconds = c.audio.length / 8000;
      // Windows end at 3 s, 4 s, ... : one per hop once the first window is full.
      expect(list.length).toBeGreaterThanOrEqual(Math.floor(seconds) - 3);
      expect(list.length).toBeLessThanOrEqual(Math.floor(seconds) - 2);
      const gaps = list.slice(1).map((x, i) => x.at - list[i]!.at).sort((a, b) => a - b);
      const median = gaps[Math.floor(gaps.length / 2)]!;
      expect(median).toBeGreaterThan(850);
      expect(median).toBeLessThan(1150);
      const stats = path.stats(c.id)!;
      expect(stats.rtp!.lost).toBe(0);
      expect(stats.rtp!.packets).toBe(streams[calls.indexOf(c)]!.stats.sent);
    }
    expect(playedMs).toBeGreaterThan(8000);

    const angry = [...(updates.get('angry-1') ?? []), ...(updates.get('angry-2') ?? [])].map((x) => x.u);
    const neutral = [...(updates.get('neutral-1') ?? []), ...(updates.get('neutral-2') ?? [])].map((x) => x.u);
    expect(meanRaw(angry, 'ANG')).toBeGreaterThan(2 * meanRaw(neutral, 'ANG'));
    expect(meanRaw(neutral, 'NEU')).toBeGreaterThan(meanRaw(angry, 'NEU'));
    const negativity = (us: EmotionUpdate[]): number => us.reduce((s, u) => s + u.negativity, 0) / us.length;
    expect(negativity(angry)).toBeGreaterThan(negativity(neutral));
    for (const c of calls) await path.closeCall(c.id);
  }, 60_000);

  it('keeps a call working through 5% loss, reordering and duplication, foreign packets and a wrong payload type', async () => {
    const audio = testActorSpeech('ANG', 4, 8);
    const tap = await path.openCall('impaired', { expectedSource: { address: '127.0.0.1' } });
    expect(tap).not.toBeNull();
    const stream = new RtpStream({ audio, to: tap!, impair: { loss: 0.05, reorder: 0.05, duplicate: 0.05, seed: 7 } });
    pacer.add(stream);

    // A stranger on another loopback address, and our own peer sending a payload type we do not take.
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.2', () => r()));
    await new Promise((r) => setTimeout(r, 500));
    const bogus = Buffer.alloc(172);
    bogus[0] = 0x80;
    for (let i = 0; i < 20; i++) {
      bogus[1] = 0; // PCMU, valid-looking
      stranger.send(bogus, tap!.port, '127.0.0.1');
    }
    for (let i = 0; i < 10; i++) {
      bogus[1] = 18; // G.729
      bogus.writeUInt32BE(stream.ssrc, 8);
      pacer.sendRaw(bogus, tap!);
    }
    pacer.sendRaw(Buffer.from([0x80, 0x00, 0x01]), tap!); // truncated
    await pacer.finished();
    await path.pipeline('impaired')!.drain();
    stranger.close();

    const s = path.stats('impaired')!;
    expect(s.rtp!.foreignSource).toBe(20);
    expect(s.rtp!.badPayloadType).toBe(10);
    expect(s.rtp!.malformed).toBe(1);
    expect(s.rtp!.duplicate).toBe(stream.stats.duplicated);
    expect(Math.abs(s.rtp!.lost - stream.stats.dropped)).toBeLessThanOrEqual(1);
    expect(s.rtp!.reordered).toBeGreaterThan(0);
    const list = (updates.get('impaired') ?? []).map((x) => x.u);
    expect(list.length).toBeGreaterThanOrEqual(Math.floor(audio.length / 8000) - 3);
    expect(list.filter((u) => u.speech).length).toBeGreaterThan(list.length / 2);
    expect(list.at(-1)!.negativity).toBeGreaterThan(0.5);
    await path.closeCall('impaired');
  }, 60_000);
});

import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../src/inference/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { AudioPath } from '../../src/pipeline/audio-path.js';
import { PortPool } from '../../src/rtp/port-pool.js';
import { MODEL } from '../helpers/paths.js';

describe('AudioPath', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 5 });
  });
  afterAll(async () => {
    await engine.close();
  });

  function path(ports: PortPool, logs: string[]): AudioPath {
    const sink = new Writable({
      write(chunk, _e, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    return new AudioPath({ engine, ports, rtpHost: '127.0.0.1', slin16PayloadType: 118, jitterPackets: 3, minSpeechRatio: 0.25, smoothing: 0.5, logger: createLogger('warn', sink) });
  }

  it('leaves a call untapped with a warning when the port pool is exhausted, and frees ports on close', async () => {
    const logs: string[] = [];
    const ports = new PortPool(45300, 45301);
    const ap = path(ports, logs);
    expect(await ap.openCall('a')).toMatchObject({ host: '127.0.0.1' });
    expect(await ap.openCall('b')).not.toBeNull();
    expect(await ap.openCall('c')).toBeNull();
    expect(logs.join('')).toContain('RTP port pool exhausted');
    expect(await ap.openCall('a')).toEqual({ host: '127.0.0.1', port: ap.portOf('a') }); // idempotent
    await ap.closeCall('a');
    expect(ports.free).toBe(1);
    expect(await ap.openCall('c')).not.toBeNull();
    await ap.close();
    expect(ports.inUse).toBe(0);
    expect(ap.size).toBe(0);
  });

  it('skips a port something else already holds', async () => {
    const squatter = createSocket('udp4');
    await new Promise<void>((r) => squatter.bind(45310, '127.0.0.1', () => r()));
    const logs: string[] = [];
    const ports = new PortPool(45310, 45312);
    const ap = path(ports, logs);
    const tap = await ap.openCall('x');
    expect(tap?.port).toBe(45311);
    expect(ports.inUse).toBe(1);
    await ap.close();
    squatter.close();
    expect(ports.inUse).toBe(0);
  });
});

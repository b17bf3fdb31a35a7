import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthReport } from '../../src/console/health.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { AudioPath } from '../../src/pipeline/audio-path.js';
import { PortPool } from '../../src/rtp/port-pool.js';
import { MODEL } from '../helpers/paths.js';

describe('issue 13: an rtp.host that is not a local address', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 5 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('is reported as EADDRNOTAVAIL (not as an exhausted port pool), keeps the ports free, and /healthz is down', async () => {
    const ports = new PortPool(45320, 45329);
    // 192.0.2.1 (TEST-NET-1) is never a local address.
    const ap = new AudioPath({ engine, ports, rtpHost: '192.0.2.1', slin16PayloadType: 118, jitterPackets: 3, minSpeechRatio: 0.25, smoothing: 0.5, logger: createLogger('silent') });
    expect(await ap.openCall('a')).toBeNull();
    expect(ap.bindError).toMatch(/192\.0\.2\.1.*EADDRNOTAVAIL/);
    expect(ap.bindError).not.toMatch(/exhausted/);
    expect(ports.free).toBe(10);
    const health = healthReport({ ari: { connected: true, reconnects: 0 }, model: { loaded: true, name: 'm' }, ports: { free: ports.free, total: ports.size }, rtpError: ap.bindError });
    expect(health.status).toBe('down');
    await ap.close();
  });
});

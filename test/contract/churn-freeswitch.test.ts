import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { SerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { MODEL } from '../helpers/paths.js';

/**
 * The 200-call churn of test/ari/lifecycle.test.ts on FreeSWITCH: calls hanging up at random moments
 * (a quarter within 30 ms of their hook, mostly while the fork is being started), and the event socket
 * dropped in the middle (hooks fired meanwhile are lost, hang-ups meanwhile are found by the reconcile).
 * Afterwards every call that started has ended, no fork is open, no claim is left, the audio path is empty.
 */
describe('FreeSWITCH call lifecycle under churn', () => {
  let service: Service | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  it('200 calls, random hang-ups and an event-socket drop: zero leftovers on the switch and in the process', async () => {
    const random = mulberry32(20261202);
    const config = configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { instance: 'churn' } });
    service = await startService({ config, logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })), simulate: 'freeswitch' });
    const s = service;
    const sim = s.fsSim!;
    const events: SerEvent[] = [];
    s.bus.subscribe((e) => events.push(e));
    const placed: Promise<void>[] = [];
    const hangups: Promise<void>[] = [];
    const speech = Float32Array.from({ length: 8000 * 4 }, (_, i) => 0.2 * Math.sin((2 * Math.PI * 180 * i) / 8000));
    for (let i = 0; i < 200; i++) {
      placed.push(
        (async () => {
          await new Promise((r) => setTimeout(r, random() * 2000));
          const uuid = sim.placeCall({ audio: speech, number: String(2000 + i) });
          const after = random() < 0.25 ? random() * 30 : 200 + random() * 3000;
          hangups.push(new Promise((r) => setTimeout(() => r(void sim.hangup(uuid)), after)));
        })(),
      );
    }
    let reconnectsBefore = 0;
    setTimeout(() => {
      reconnectsBefore = s.pbx.health().reconnects;
      sim.dropEsl();
    }, 1000);
    await Promise.all(placed);
    await Promise.all(hangups);

    const until = async (check: () => boolean, ms: number, what: () => string): Promise<void> => {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) throw new Error(`${what()}: not within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(() => s.calls.size === 0, 30_000, () => `calls still live: ${s.calls.size}`);
    await until(
      () => sim.channels().every((c) => !c.fork?.open) && Object.keys(sim.hashEntries('ser_claim')).length === 0,
      15_000,
      () => `forks open ${sim.channels().filter((c) => c.fork?.open).length}, claims ${Object.keys(sim.hashEntries('ser_claim')).length}`,
    );
    expect(sim.channels()).toEqual([]);
    expect(s.audioPath.size).toBe(0);
    const fs = s.pbx as unknown as { ingress: { expected: string[] }; monitor: { calls: string[] } };
    expect(fs.ingress.expected).toEqual([]);
    expect(fs.monitor.calls).toEqual([]);
    const started = events.filter((e) => e.type === 'call.started').length;
    const ended = events.filter((e) => e.type === 'call.ended').length;
    expect(ended).toBe(started);
    // The drop happened and cost hooks (never queued), but most calls were served.
    expect(s.pbx.health().reconnects).toBeGreaterThan(reconnectsBefore);
    expect(started).toBeGreaterThan(100);
    expect(started).toBeLessThan(200);
  }, 90_000);
});

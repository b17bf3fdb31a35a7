import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { MODEL } from '../helpers/paths.js';
import { until } from '../helpers/net.js';

/**
 * Every subscribed event socket gets its own copy of the ser::monitor hook (07): two ser-ari on one
 * FreeSWITCH would both fork every call. The mod_hash claim makes exactly one of them tap each call.
 */
describe('two ser-ari instances on one FreeSWITCH', () => {
  const services: Service[] = [];
  afterEach(async () => {
    for (const s of services.splice(0).reverse()) await s.stop();
  });
  const quiet = () => createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));

  it('each call is tapped by exactly one of them; the claims go with the calls', async () => {
    const a = await startService({ config: configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { instance: 'a' } }), logger: quiet(), simulate: 'freeswitch' });
    services.push(a);
    const sim = a.fsSim!;
    const b = await startService({
      config: configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { host: '127.0.0.1', port: sim.port, password: 'ClueCon', forkPort: 0, instance: 'b' } }),
      logger: quiet(),
    });
    services.push(b);
    await until(() => sim.eslConnections === 2 && b.pbx.health().connected, 10_000, 'both connected');
    const calls = Array.from({ length: 12 }, (_, i) => sim.placeCall({ audio: new Float32Array(8000 * 20), number: String(3000 + i) }));
    await until(() => calls.every((id) => sim.channel(id)?.fork?.open === true), 15_000, 'every call forked');
    const tappedBy = calls.map((id) => [a, b].filter((s) => s.registry.get(id)).length);
    expect(tappedBy).toEqual(calls.map(() => 1));
    const claims = sim.hashEntries('ser_claim');
    expect(calls.map((id) => claims[id]).every((who) => who === 'a' || who === 'b')).toBe(true);
    for (const id of calls) expect(claims[id]).toBe(a.registry.get(id) ? 'a' : 'b');
    for (const id of calls) sim.hangup(id);
    await until(() => a.calls.size === 0 && b.calls.size === 0 && Object.keys(sim.hashEntries('ser_claim')).length === 0, 10_000, 'calls ended, claims gone');
  }, 30_000);
});

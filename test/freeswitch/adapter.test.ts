import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';
import type { SerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { FsSimulator } from '../../src/sim/freeswitch/index.js';
import { MODEL } from '../helpers/paths.js';
import { until } from '../helpers/net.js';

/** A FreeSWITCH caller moved into mod_callcenter: the phase follows the queue's own events, priority re-queues it. */
describe('FreeSWITCH adapter', () => {
  let service: Service | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  it('a tapped caller transferred to a queue is queued (rules scoped to queued apply); a priority re-queues it with cc_base_score', async () => {
    const config = configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { instance: 'q' } });
    service = await startService({ config, logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })), simulate: 'freeswitch' });
    const s = service;
    const events: SerEvent[] = [];
    s.bus.subscribe((e) => events.push(e));
    const sim = s.fsSim!;
    const callId = sim.placeCall({ audio: new Float32Array(8000 * 30), number: '15550201' });
    await until(() => s.registry.get(callId)?.tapped === true, 15_000, 'tapped');
    expect(s.registry.get(callId)?.phase).toBe('ivr');

    expect(await s.pbx.control.transfer(callId, { queue: 'support' })).toEqual({ ok: true });
    await until(() => s.registry.get(callId)?.phase === 'queued', 5_000, 'queued');
    expect(s.registry.get(callId)).toMatchObject({ phase: 'queued', queue: 'support' });
    expect(events.filter((e) => e.type === 'call.phase' && e.callId === callId)).toMatchObject([{ phase: 'queued', queue: 'support' }]);

    expect(await s.pbx.control.setPriority(callId, { set: 3 })).toEqual({ ok: true });
    expect(sim.channel(callId)?.variables.get('cc_base_score')).toBe(String(3 * 3600));
    expect(sim.channel(callId)?.transfers.at(-1)).toBe(`'set:cc_base_score=${3 * 3600},callcenter:support' inline`);
    expect(s.registry.get(callId)).toMatchObject({ phase: 'queued', priority: 3 });
  }, 30_000);

  it('a forced priority is not undone by a verdict written while it is on its way (real FreeSWITCH: QUEUE_PRIO 10 right after a forced 5)', async () => {
    const config = configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { instance: 'p' } });
    service = await startService({ config, logger: createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })), simulate: 'freeswitch' });
    const s = service;
    const sim = s.fsSim!;
    const callId = sim.placeCall({ audio: new Float32Array(8000 * 30), number: '15550202' });
    await until(() => s.registry.get(callId)?.tapped === true, 15_000, 'tapped');
    expect(await s.pbx.control.transfer(callId, { queue: 'support' })).toEqual({ ok: true });
    await until(() => s.registry.get(callId)?.phase === 'queued', 5_000, 'queued');
    const set: string[] = [];
    const vars = sim.channel(callId)!.variables;
    const original = vars.set.bind(vars);
    vars.set = (k: string, v: string) => {
      if (k === 'QUEUE_PRIO') set.push(v);
      return original(k, v);
    };
    await until(() => vars.get('QUEUE_PRIO') === '0', 5000, 'the calm verdict on the channel');
    // The caller turns escalated (the built-in verdict's QUEUE_PRIO 10) just as a supervisor forces 5.
    const escalated = {
      callId, seq: 1, start: 0, end: 3, speech: true, speechRatio: 1, loudnessDbfs: -20,
      probs: { ANG: 0.9, DIS: 0.02, FEA: 0.02, HAP: 0.02, NEU: 0.02, SAD: 0.02 }, raw: { ANG: 0.9, DIS: 0.02, FEA: 0.02, HAP: 0.02, NEU: 0.02, SAD: 0.02 },
      dominant: 'ANG', confidence: 0.9, negativity: 0.96, arousal: 0.94, adjusted: {}, adjustedNegativity: 0.96, baselineWindows: 1,
      baselineNegativity: 0.96, familiarity: Number.NaN, classified: 5, latencyMs: 1,
    } as unknown as EmotionUpdate;
    const ticker = setInterval(() => s.audioPath.emit('emotion', escalated), 1);
    try {
      expect(await s.pbx.control.setPriority(callId, { set: 5 })).toEqual({ ok: true });
    } finally {
      clearInterval(ticker);
    }
    // One more command on the same event socket: FreeSWITCH runs them in order, so every write sent
    // before it has landed once it answers.
    expect(await s.pbx.control.setVariables(callId, { SER_TEST_BARRIER: '1' })).toEqual({ ok: true });
    const afterForce = set.slice(set.indexOf('5'));
    expect(afterForce.length).toBeGreaterThan(0);
    expect(afterForce).not.toContain('10');
    expect(vars.get('QUEUE_PRIO')).toBe('5');
  }, 30_000);

  it('a caller waiting in mod_fifo is published untapped (mod_fifo pauses its media bugs: nothing is heard), and tapped again once a consumer takes it', async () => {
    const config = configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { instance: 'f', context: 'pbx' } });
    service = await startService({ config, logger: createLogger('silent'), simulate: 'freeswitch' });
    const s = service;
    const events: SerEvent[] = [];
    s.bus.subscribe((e) => events.push(e));
    const sim = s.fsSim!;
    const callId = sim.placeCall({ audio: new Float32Array(8000 * 60), number: '15550203' });
    const taps = () => events.flatMap((e) => (e.type === 'tap' && e.callId === callId ? [e.state] : []));
    const scored = () => events.filter((e) => e.type === 'emotion' && e.callId === callId).length;
    await until(() => s.registry.get(callId)?.tapped === true && scored() >= 1, 15_000, 'tapped and scored');

    expect(await s.pbx.control.transfer(callId, { context: 'pbx', extension: 'fifo-support' })).toEqual({ ok: true });
    await until(() => s.registry.get(callId)?.phase === 'queued', 5_000, 'queued');
    expect(s.registry.get(callId)).toMatchObject({ queue: 'support', tapped: false });
    expect(taps()).toEqual(['tapped', 'untapped']);
    expect(events.find((e) => e.type === 'tap' && e.state === 'untapped')).toMatchObject({ reason: expect.stringMatching(/mod_fifo/) });
    await new Promise((r) => setTimeout(r, 300));
    const during = scored();
    await new Promise((r) => setTimeout(r, 2000));
    expect(scored()).toBe(during); // nothing heard while it waits

    expect(sim.fifoConsume('support')).toBe(callId);
    await until(() => s.registry.get(callId)?.phase === 'agent' && s.registry.get(callId)?.tapped === true, 5_000, 'with the agent, tapped');
    await until(() => scored() >= during + 2, 10_000, 'scored again');
    expect(taps()).toEqual(['tapped', 'untapped', 'tapped']);
  }, 30_000);

  it('a fork that cannot reach ser-ari is retried, then the call goes on untapped (never hung up)', async () => {
    // FreeSWITCH is told a URL where nothing listens (a wrong SER_FORK_URL, a firewall).
    const config = configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { forkUrl: 'ws://127.0.0.1:9/' } });
    service = await startService({ config, logger: createLogger('silent'), simulate: 'freeswitch' });
    const s = service;
    const events: SerEvent[] = [];
    s.bus.subscribe((e) => events.push(e));
    const callId = s.fsSim!.placeCall({ audio: new Float32Array(8000 * 30), number: '15550202' });
    const states = () => events.flatMap((e) => (e.type === 'tap' && e.callId === callId ? [e.state] : []));
    await until(() => states().includes('untapped'), 15_000, 'given up');
    expect(states()).toEqual(['retrying', 'retrying', 'retrying', 'untapped']);
    expect(events.find((e) => e.type === 'tap' && e.state === 'retrying')).toMatchObject({ reason: expect.stringMatching(/could not connect/) });
    expect(s.fsSim!.channel(callId)?.hungUp).toBe(false);
    expect(s.registry.get(callId)?.tapped).toBe(false);
  }, 30_000);

  it('a fork port already taken stops the start with FORK_LISTEN_FAILED naming the setting to change', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as { port: number }).port;
    const sim = await FsSimulator.start();
    try {
      const config = configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { store: 'none' }, freeswitch: { host: '127.0.0.1', port: sim.port, forkPort: taken } });
      const err = await startService({ config, logger: createLogger('silent') }).then(
        (s) => ((service = s), null),
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'FORK_LISTEN_FAILED', message: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1:${taken} .*SER_FORK_PORT.*EADDRINUSE`)) });
    } finally {
      holder.close();
      await sim.stop();
    }
  }, 30_000);
});

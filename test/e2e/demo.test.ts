import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { withDemoDefaults } from '../../src/cli/run.js';
import { configSchema } from '../../src/config/schema.js';
import type { SerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { DEMO_SIM_AGENTS, loadDemoVoices, startDemoCallers, startFsDemoCallers, type DemoCallers } from '../../src/service/demo.js';
import { startService, type Service } from '../../src/service/service.js';
import { CLIPS, HAVE_CREMA_D, MODEL } from '../helpers/paths.js';
import { until } from './support.js';

/** What `npm start` runs without Asterisk: the demo queue and rules, and three demo callers. */
describe.skipIf(!HAVE_CREMA_D)('the demo (ser-ari run with no Asterisk configured)', () => {
  let service: Service | undefined;
  let callers: DemoCallers | undefined;

  afterAll(async () => {
    callers?.stop();
    await service?.stop();
  });

  it('brings a calm caller into the IVR, one queue caller to the agent and one waiting, each scored every second', async () => {
    const config = withDemoDefaults(configSchema.parse({ http: { port: 0 }, rtp: { ports: '44200-44299' }, model: { path: MODEL }, history: { path: ':memory:' } }));
    expect(config.queues.map((q) => q.name)).toEqual(['support']);
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    service = await startService({ config, logger: createLogger('info', sink), simAgents: DEMO_SIM_AGENTS });
    expect(service.sim).not.toBeNull();
    expect(service.rules?.rules.map((r) => r.name)).toContain('agent-abuse-warn-hangup');
    const events: SerEvent[] = [];
    service.bus.subscribe((e) => events.push(e));
    callers = startDemoCallers(service.sim!, createLogger('silent'), await loadDemoVoices(CLIPS));
    expect(callers.source).toBe(CLIPS);

    const phases = (): string[] => service!.registry.list().map((c) => `${c.mode}:${c.phase}`).sort();
    await until(() => phases().join() === 'monitor:ivr,queue:agent,queue:queued', 30_000, 'three demo calls in their phases');
    const waiting = service.registry.list().find((c) => c.phase === 'queued')!;
    expect(waiting.callerNumber).toBe('+15550101'); // the frustrated caller, behind the abusive one
    const calls = service.registry.list().map((c) => c.callId);
    await until(() => calls.every((id) => events.filter((e) => e.type === 'emotion' && e.callId === id && e.speech).length >= 3), 15_000, 'emotion for every call');
    const health = await fetch(`${service.consoleUrl}/healthz`).then((r) => r.json() as Promise<{ status: string }>);
    expect(health.status).toBe('ok');
    expect(logs.filter((l) => /"level":(40|50)/.test(l))).toEqual([]); // no warning or error in a normal demo run
  }, 60_000);

  it('with --pbx freeswitch: the same three voices on the simulated FreeSWITCH, tapped by fork and scored, no built-in queue and no warning', async () => {
    callers?.stop();
    await service?.stop();
    const config = withDemoDefaults(configSchema.parse({ http: { port: 0 }, model: { path: MODEL }, history: { path: ':memory:' } }), 'freeswitch');
    expect(config.queues).toEqual([]);
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    service = await startService({ config, logger: createLogger('info', sink), simulate: 'freeswitch' });
    expect([service.pbx.kind, service.sim, service.queues]).toEqual(['freeswitch', null, null]);
    const events: SerEvent[] = [];
    service.bus.subscribe((e) => events.push(e));
    callers = startFsDemoCallers(service.fsSim!, createLogger('silent'), await loadDemoVoices(CLIPS));
    await until(() => service!.registry.list().filter((c) => c.tapped).length === 3, 30_000, 'three demo calls tapped');
    const calls = service.registry.list().map((c) => c.callId);
    await until(() => calls.every((id) => events.filter((e) => e.type === 'emotion' && e.callId === id && e.speech).length >= 3), 15_000, 'emotion for every call');
    // The verdict is on each channel for the dialplan, from the call's entry on.
    for (const id of calls) expect(service.fsSim!.channel(id)?.variables.get('SER_EMOTION')).toMatch(/^(ANG|DIS|FEA|HAP|NEU|SAD|unknown)$/);
    const health = await fetch(`${service.consoleUrl}/healthz`).then((r) => r.json() as Promise<{ status: string; pbx: { kind: string } }>);
    expect(health).toMatchObject({ status: 'ok', pbx: { kind: 'freeswitch' } });
    expect(logs.filter((l) => /"level":(40|50)/.test(l))).toEqual([]);
  }, 60_000);
});

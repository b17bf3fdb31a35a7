import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QueueHandler } from '../../src/queue/handler.js';
import { queueAriOf } from '../../src/ari/queue-ari.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { createQueues, type QueueService } from '../../src/queue/index.js';
import { MODEL } from '../helpers/paths.js';
import { until, world, type World } from '../ari/helpers.js';

/*
 * Stasis(ser,queue,support) through the real ARI app (src/ari/) and the simulator: the app taps the
 * caller and hands it to the queue; the queue's agent legs enter the same Stasis app and must be left
 * alone by it; the caller's tap (snoop + externalMedia, real RTP) stays while it talks to the agent.
 */
describe('built-in queue behind the ARI app', () => {
  let engine: InferenceEngine;
  let w: World | null = null;
  let svc: QueueService | null = null;

  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 5 });
  });
  afterEach(async () => {
    await svc?.stop();
    await w?.close();
    w = null;
    svc = null;
  });
  afterAll(async () => {
    await engine.close();
  });

  /** The app needs its handler at start; the service needs the app's registry, bus and client: tie them lazily. */
  async function start(agent: { behaviour: 'answer'; answerAfterMs?: number; hangupAfterMs?: number }, ports: [number, number]): Promise<World> {
    const handler: QueueHandler = {
      admit: (call) => svc!.admit(call),
      onCallEnded: (callId) => svc?.onCallEnded(callId),
    };
    w = await world({ engine, ports, queueHandler: handler });
    const app = w.app.app;
    w.sim.addAgent({ endpoint: 'PJSIP/1001', ...agent });
    svc = createQueues({
      client: queueAriOf(() => app.client, 'ser'),
      live: () => app.live,
      continueCall: (id) => app.continueCall(id),
      config: { queues: [{ name: 'support', agents: ['PJSIP/1001'], ringTimeoutSeconds: 10, retrySeconds: 1, moh: 'default', maxWaitSeconds: null }] },
      registry: w.registry,
      bus: w.bus,
      logger: createLogger('silent'),
    });
    app.onConnected(() => svc?.attach()); // as the service wires it
    await svc.start();
    return w;
  }

  const tapObjects = (x: World) => x.sim.channels().filter((c) => !c.hungUp && (c.kind === 'snoop' || c.kind === 'external'));
  const agentLeg = (x: World) => x.sim.channels().find((c) => !c.hungUp && c.kind === 'originated');

  it('the caller is tapped, queued, bridged with the agent, and stays tapped during the conversation; hang-up leaves nothing', async () => {
    const x = await start({ behaviour: 'answer', answerAfterMs: 300 }, [46400, 46409]);
    const callId = await x.sim.placeCall({ stasisArgs: ['queue', 'support'], number: '5550100' });
    await until(() => x.registry.get(callId)?.phase === 'agent', 10_000, 'bridged to the agent');
    // The tap reports 'tapped' at its first RTP packet, independently of the agent answering.
    await until(() => x.registry.get(callId)?.tapped === true, 10_000, 'tapped');
    const leg = agentLeg(x)!;
    expect(leg.name).toMatch(/^PJSIP\/1001-/);
    expect(leg.inStasis).toBe(true); // the app did not take our agent leg for an orphan
    const mixing = x.sim.bridges().find((b) => b.channelIds.includes(callId))!;
    expect(mixing.channelIds.sort()).toEqual([callId, leg.id].sort());
    expect(x.registry.get(callId)).toMatchObject({ mode: 'queue', queue: 'support', agent: 'PJSIP/1001', tapped: true });
    expect(x.registry.size).toBe(1); // the agent leg is not a call
    // the tap is untouched by the bridging: its snoop and externalMedia are up and RTP flows
    const tap = tapObjects(x);
    expect(tap.map((c) => c.kind).sort()).toEqual(['external', 'snoop']);
    const sent = tap.find((c) => c.kind === 'external')!.rtp!.sent;
    await until(() => (x.sim.channels().find((c) => c.kind === 'external' && !c.hungUp)?.rtp?.sent ?? 0) > sent + 10, 5000, 'RTP while bridged');
    expect(x.taps(callId).map((t) => t.state)).toEqual(['tapped']);

    x.sim.hangup(callId);
    await until(() => x.registry.size === 0, 10_000, 'call ended');
    await until(() => !agentLeg(x) && tapObjects(x).length === 0, 10_000, 'agent and tap released');
    const bridges = x.sim.bridges();
    expect(bridges).toHaveLength(1); // the queue's holding bridge, empty
    expect(bridges[0]!.type).toContain('holding');
    expect(bridges[0]!.channelIds).toEqual([]);
    expect(x.ports.inUse).toBe(0);
  });

  it('the agent hanging up returns the caller to the dialplan through the app: still tracked and tapped until it hangs up', async () => {
    const x = await start({ behaviour: 'answer', hangupAfterMs: 400 }, [46410, 46419]);
    const callId = await x.sim.placeCall({ stasisArgs: ['queue', 'support'], number: '5550101' });
    // the app marks the call out of Stasis when its continue request returns, which can trail the StasisEnd
    await until(() => x.sim.channel(callId)?.inStasis === false && x.sim.channel(callId)?.leftStasisWith !== null && x.registry.get(callId)?.inStasis === false, 10_000, 'back in the dialplan');
    expect(x.sim.channel(callId)!.leftStasisWith).toMatchObject({ SER_QUEUESTATUS: 'COMPLETED' });
    // The simulator moves the caller first; the app learns it from the answer and the StasisEnd after.
    await until(() => x.registry.get(callId)?.inStasis === false, 10_000, 'the app saw the caller leave Stasis');
    await until(() => x.sim.bridges().every((b) => !(b.type.includes('mixing') && b.channelIds.includes(callId))), 10_000, 'agent bridge gone');
    expect(tapObjects(x)).toHaveLength(2);

    x.sim.hangup(callId);
    await until(() => x.registry.size === 0 && tapObjects(x).length === 0, 10_000, 'released');
    expect(x.sim.bridges().map((b) => b.type)).toEqual([expect.stringContaining('holding')]);
    expect(x.ports.inUse).toBe(0);
  });
});

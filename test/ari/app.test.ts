import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { HAVE_CREMA_D, MODEL, testActorSpeech } from '../helpers/paths.js';
import { until, world, type World } from './helpers.js';

describe('ARI app against the simulator', () => {
  let engine: InferenceEngine;
  let w: World | null = null;
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 5 });
  });
  afterEach(async () => {
    await w?.close();
    w = null;
  });
  afterAll(async () => {
    await engine.close();
  });

  it.skipIf(!HAVE_CREMA_D)('monitor: taps the caller, returns it to the dialplan, the model scores its speech over RTP; hang-up releases everything', async () => {
    w = await world({ engine, ports: [46100, 46119] });
    const emotions: EmotionUpdate[] = [];
    w.audioPath.on('emotion', (u) => emotions.push(u));
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'], audio: testActorSpeech('ANG', 3), number: '5551234', name: 'Angry Caller' });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    const caller = w.sim.channel(callId)!;
    expect(caller.inStasis).toBe(false); // back in the dialplan at once
    expect(caller.dialplanApp).toBe('Wait');
    expect(w.registry.get(callId)).toMatchObject({ mode: 'monitor', phase: 'ivr', inStasis: false, tapped: true, callerNumber: '5551234' });
    // our snoop and externalMedia entered the app too, but only the caller is a call
    expect(w.registry.size).toBe(1);
    expect(w.events.filter((e) => e.type === 'call.started').map((e) => e.callId)).toEqual([callId]);
    expect(w.leftovers().channels).toHaveLength(2);
    await until(() => emotions.some((u) => u.callId === callId && u.speech && u.classified > 0), 20_000, 'a classified window');
    const em = w.sim.channels().find((c) => c.kind === 'external')!;
    expect(em.rtp).toMatchObject({ to: `127.0.0.1:${w.audioPath.portOf(callId)}`, format: 'ulaw', active: true });

    w.sim.hangup(callId);
    await until(() => w!.registry.size === 0, 10_000, 'call ended');
    expect(w.leftovers()).toEqual({ channels: [], bridges: [] });
    expect(w.ports.inUse).toBe(0);
    expect(w.audioPath.size).toBe(0);
    const ended = w.events.find((e) => e.type === 'call.ended');
    expect(ended).toMatchObject({ callId, reason: 'hangup' });
    expect(w.taps(callId).map((t) => t.state)).toEqual(['tapped', 'released']);
  });
});

import { describe, expect, it } from 'vitest';
import type { QueueHandler } from '../../src/queue/handler.js';
import { until, useAriWorlds, type World } from '../ari/helpers.js';

const holdingQueue: QueueHandler = { admit: async () => undefined, onCallEnded: () => undefined };

describe('listen-in (issue 16) against the simulator', () => {
  const fixture = useAriWorlds();
  let w: World | null = null;

  async function tappedCaller(): Promise<string> {
    const callId = await w!.sim.placeCall({ stasisArgs: ['queue', 'support'], number: '5550199', name: 'Hostile' });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    return callId;
  }
  const listenSnoops = (callId: string) => w!.sim.channels().filter((c) => c.kind === 'snoop' && c.snoopOf === callId && c.id.startsWith('ser-listen-') && !c.hungUp);

  it('snoops the caller with the requested spy, bridges the supervisor to it, and releases both when the call ends', async () => {
    w = await fixture.world({ ports: [46600, 46609], queueHandler: holdingQueue });
    w.sim.addAgent({ endpoint: 'PJSIP/2001', behaviour: 'answer', answerAfterMs: 50 });
    const callId = await tappedCaller();
    expect(await w.app.control.listen!(callId, 'PJSIP/2001', 'both')).toEqual({ ok: true });

    const [snoop] = listenSnoops(callId);
    expect(snoop).toMatchObject({ spy: 'both', whisper: 'none' });
    const bridge = w.sim.bridges().find((b) => b.id.startsWith('ser-lbridge-'))!;
    expect(bridge.channelIds).toHaveLength(2);
    expect(bridge.channelIds).toContain(snoop!.id);
    const supervisor = w.sim.channel(bridge.channelIds.find((id) => id !== snoop!.id)!)!;
    expect(supervisor).toMatchObject({ kind: 'originated', hungUp: false });
    expect(w.app.app.session(callId)!.listeners).toHaveLength(1);

    w.sim.hangup(callId);
    await until(() => w!.registry.size === 0, 5000, 'ended');
    await until(() => w!.sim.channel(supervisor.id)?.hungUp !== false, 5000, 'supervisor released');
    await until(() => w!.leftovers().channels.length === 0 && w!.leftovers().bridges.length === 0 && w!.ports.inUse === 0, 5000, 'nothing left');
  });

  it('the supervisor hanging up releases the snoop and the bridge; the call and its tap go on', async () => {
    w = await fixture.world({ ports: [46610, 46619], queueHandler: holdingQueue });
    w.sim.addAgent({ endpoint: 'PJSIP/2002', behaviour: 'answer', answerAfterMs: 20 });
    const callId = await tappedCaller();
    expect(await w.app.control.listen!(callId, 'PJSIP/2002', 'in')).toEqual({ ok: true });
    expect(listenSnoops(callId)[0]).toMatchObject({ spy: 'in' });
    const bridge = w.sim.bridges().find((b) => b.id.startsWith('ser-lbridge-'))!;
    const supervisorId = bridge.channelIds.find((id) => id.startsWith('ser-super-'))!;
    w.sim.hangup(supervisorId);
    await until(() => listenSnoops(callId).length === 0 && !w!.sim.bridges().some((b) => b.id.startsWith('ser-lbridge-')), 5000, 'listen-in released');
    expect(w.app.app.session(callId)!.listeners).toEqual([]);
    expect(w.registry.get(callId)).toBeDefined();
    expect(w.sim.channel(callId)!.hungUp).toBe(false);
    expect(w.taps(callId).at(-1)!.state).toBe('tapped');
  });

  it('a supervisor who does not answer: a failed result, nothing left behind', async () => {
    w = await fixture.world({ ports: [46620, 46629], queueHandler: holdingQueue, ari: { agentAnswerTimeoutMs: 1000 } });
    w.sim.addAgent({ endpoint: 'PJSIP/2003', behaviour: 'busy' });
    const callId = await tappedCaller();
    const res = await w.app.control.listen!(callId, 'PJSIP/2003', 'in');
    expect(res.ok).toBe(false);
    expect(res.error).toContain('did not answer');
    await until(() => listenSnoops(callId).length === 0 && !w!.sim.bridges().some((b) => b.id.startsWith('ser-lbridge-')), 5000, 'released');
    expect(w.app.app.live.size).toBe(w.app.app.session(callId)!.objects().length);
  });
});

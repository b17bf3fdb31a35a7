import { describe, expect, it } from 'vitest';
import type { QueueHandler } from '../../src/queue/handler.js';
import { until, useAriWorlds, type World } from '../ari/helpers.js';

/** A queue that takes callers and keeps them in Stasis (what the built-in queue does while they wait). */
const holdingQueue: QueueHandler = { admit: async () => undefined, onCallEnded: () => undefined };

describe('AriCallControl against the simulator', () => {
  const fixture = useAriWorlds();
  let w: World | null = null;

  async function queuedCaller(): Promise<string> {
    const callId = await w!.sim.placeCall({ stasisArgs: ['queue', 'support'], number: '5550100', name: 'Queued' });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    return callId;
  }

  it('setVariables writes channel variables while the caller is in Stasis', async () => {
    w = await fixture.world({ ports: [46500, 46509], queueHandler: holdingQueue });
    const callId = await queuedCaller();
    expect(await w.app.control.setVariables(callId, { SER_EMOTION: 'ANG', QUEUE_PRIO: '7' })).toEqual({ ok: true });
    expect(w.sim.channel(callId)!.variables).toMatchObject({ SER_EMOTION: 'ANG', QUEUE_PRIO: '7' });
  });

  it('outside Stasis: variables and priority are kept for the decision point while in the menu, refused with 409 once queued', async () => {
    w = await fixture.world({ ports: [46510, 46519] });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.registry.get(callId)?.inStasis === false, 5000, 'returned');
    expect(await w.app.control.setPriority(callId, { add: 5 })).toEqual({ ok: true });
    expect(await w.app.control.setPriority(callId, { add: 5 })).toEqual({ ok: true });
    expect(w.registry.get(callId)!.priority).toBe(10);
    expect(w.app.app.session(callId)!.pendingVars).toEqual({ QUEUE_PRIO: '10' });
    w.registry.update(callId, { phase: 'queued', queue: 'support' }); // now waiting in app_queue, no AMI port
    const refused = await w.app.control.setVariables(callId, { SER_ESCALATE: '1' });
    expect(refused).toMatchObject({ ok: false, status: 409 });
    expect(refused.error).toContain(`id:${callId}`);
  });

  it('outside Stasis in the menu: a dialplan transfer waits for the next decision point, then moves the caller there', async () => {
    w = await fixture.world({ ports: [46580, 46589] });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.registry.get(callId)?.inStasis === false, 5000, 'returned');
    expect(await w.app.control.transfer(callId, { context: 'ser-escalate', extension: 'agent' })).toEqual({ ok: true });
    expect(w.sim.channel(callId)).toMatchObject({ inStasis: false, context: 'ser-in' }); // nothing moves yet
    expect(await w.app.control.transfer(callId, { agent: 'PJSIP/1001' })).toMatchObject({ ok: false, status: 409 });
    w.sim.runDialplan(callId, 'Stasis(ser,decide)', 'Queue(support)');
    await until(() => w!.sim.channel(callId)?.context === 'ser-escalate', 5000, 'moved at the decision point');
    expect(w.sim.channel(callId)).toMatchObject({ inStasis: false, hungUp: false, exten: 'agent' });
    // done once: the next decision point returns the caller where its dialplan goes on
    w.sim.runDialplan(callId, 'Stasis(ser,decide)', 'Queue(support)');
    await until(() => w!.sim.channel(callId)?.dialplanApp === 'Queue', 5000, 'next decision point');
    expect(w.sim.channel(callId)!.context).toBe('ser-escalate');
  });

  it('setPriority goes to the built-in queue when the caller waits in it', async () => {
    const asked: Array<[string, unknown]> = [];
    w = await fixture.world({ ports: [46520, 46529], queueHandler: holdingQueue });
    const callId = await queuedCaller();
    const { AriCallControl } = await import('../../src/ari/call-control.js');
    const control = new AriCallControl(w.app.app, {
      queuePriority: {
        setPriority: (id, change) => (id === callId ? (asked.push([id, change]), Promise.resolve({ ok: true })) : null),
      },
    });
    expect(await control.setPriority(callId, { set: 4 })).toEqual({ ok: true });
    expect(asked).toEqual([[callId, { set: 4 }]]);
    expect(w.sim.channel(callId)!.variables.QUEUE_PRIO).toBeUndefined();
  });

  it('hangup ends the call with the cause, and hanging up again is not an error', async () => {
    w = await fixture.world({ ports: [46530, 46539] });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    w.bus.publish({ type: 'action', callId, actionId: 'a1', rule: 'abuse', kind: 'hangup', params: { cause: 'normal' }, outcome: 'executed', reason: null, dueAt: null, shadow: false, evidence: [] });
    expect(await w.app.control.hangup(callId, 'normal')).toEqual({ ok: true });
    await until(() => w!.registry.size === 0, 5000, 'ended');
    expect(w.events.find((e) => e.type === 'call.ended')).toMatchObject({ callId, summary: { actionsExecuted: 1 } });
    expect(await w.app.control.hangup(callId, 'normal')).toEqual({ ok: true });
    // The tap's tear-down runs after the call left the registry: wait for it, not for a moment.
    await until(() => w!.leftovers().channels.length === 0 && w!.leftovers().bridges.length === 0 && w!.ports.inUse === 0, 5000, 'tap released');
  });

  it('play outside Stasis whispers through a snoop that is removed after the prompt', async () => {
    w = await fixture.world({ ports: [46540, 46549], sim: { soundDurationMs: 300 } });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    const whisper: string[] = [];
    w.sim.on('rest', (r) => {
      if (/\/snoop\/ser-whisper-/.test(r.path) || /ser-whisper-.*\/play/.test(r.path)) whisper.push(`${r.method} ${r.status}`);
    });
    expect(await w.app.control.play(callId, 'sound:ser-abuse-warning')).toEqual({ ok: true });
    expect(whisper.slice(0, 2)).toEqual(['POST 200', 'POST 201']);
    // The whisper snoop goes once its prompt has finished; the tap stays.
    await until(() => w!.leftovers().channels.length === 2, 5000, 'whisper snoop removed');
    expect(w.sim.channel(callId)!.hungUp).toBe(false);
  });

  it('transfer to an agent originates it, bridges it with the caller, and the caller hanging up releases the agent too', async () => {
    w = await fixture.world({ ports: [46550, 46559], queueHandler: holdingQueue, ari: { agentTap: true } });
    w.sim.addAgent({ endpoint: 'PJSIP/1001', behaviour: 'answer', answerAfterMs: 50 });
    const callId = await queuedCaller();
    expect(await w.app.control.transfer(callId, { agent: 'PJSIP/1001' })).toEqual({ ok: true });
    // ari.agentTap: the agent's voice gets its own tap, keyed <callId>:agent. It is built in the
    // background after transfer() resolves: wait for its snoop to exist, not for its port.
    const liveSnoops = () => w!.sim.channels().filter((c) => c.kind === 'snoop' && !c.hungUp);
    await until(() => w!.audioPath.has(`${callId}:agent`) && liveSnoops().length === 2, 5000, 'agent tapped');
    expect(w.registry.size).toBe(1);
    expect(w.registry.get(callId)).toMatchObject({ phase: 'agent', agent: 'PJSIP/1001' });
    const bridged = w.sim.bridges().find((b) => b.channelIds.includes(callId))!;
    expect(bridged.channelIds).toHaveLength(2);
    const agentId = bridged.channelIds.find((id) => id !== callId)!;
    w.sim.hangup(callId);
    await until(() => w!.registry.size === 0, 5000, 'ended');
    await until(() => w!.sim.channel(agentId)?.hungUp !== false, 5000, 'agent released');
    await until(() => w!.leftovers().channels.length === 0 && w!.leftovers().bridges.length === 0 && w!.ports.inUse === 0, 5000, 'both taps released');
  });

  it('transfer to an agent who does not answer fails as a result, leaving nothing behind and the caller where it was', async () => {
    w = await fixture.world({ ports: [46560, 46569], queueHandler: holdingQueue, ari: { agentAnswerTimeoutMs: 1000 } });
    w.sim.addAgent({ endpoint: 'PJSIP/1002', behaviour: 'busy' });
    const callId = await queuedCaller();
    const res = await w.app.control.transfer(callId, { agent: 'PJSIP/1002' });
    expect(res.ok).toBe(false);
    expect(res.error).toContain('PJSIP/1002');
    expect(w.sim.channel(callId)).toMatchObject({ inStasis: true, hungUp: false });
    expect(w.sim.channels().filter((c) => c.kind === 'originated' && !c.hungUp)).toEqual([]);
    expect(w.leftovers().bridges).toHaveLength(1); // the tap's
  });

  it('transfer to a queue continues the caller to the transfer context; outside Stasis it is refused with 409', async () => {
    w = await fixture.world({ ports: [46570, 46579], queueHandler: holdingQueue });
    const callId = await queuedCaller();
    expect(await w.app.control.transfer(callId, { queue: 'vip' })).toEqual({ ok: true });
    expect(w.sim.channel(callId)).toMatchObject({ inStasis: false, hungUp: false });
    expect(w.registry.get(callId)!.inStasis).toBe(false);
    expect(await w.app.control.transfer(callId, { queue: 'vip' })).toMatchObject({ ok: false, status: 409 });
  });
});

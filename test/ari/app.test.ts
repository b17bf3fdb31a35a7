import ari from 'ari-client';
import { describe, expect, it } from 'vitest';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';
import { HAVE_CREMA_D, testActorSpeech } from '../helpers/paths.js';
import { until, useAriWorlds, type World } from './helpers.js';

describe('ARI app against the simulator', () => {
  const fixture = useAriWorlds();
  let w: World | null = null;

  it.skipIf(!HAVE_CREMA_D)('monitor: taps the caller, returns it to the dialplan, the model scores its speech over RTP; hang-up releases everything', async () => {
    w = await fixture.world({ ports: [46100, 46119] });
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

  it("pins each tap's RTP to the address and port Asterisk reports for its externalMedia channel: other senders are counted, not heard", async () => {
    w = await fixture.world({ ports: [46120, 46129] });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'], audio: new Float32Array(8000).fill(0.1), loop: true });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    const port = w.audioPath.portOf(callId)!;
    await until(() => (w!.audioPath.stats(callId)?.rtp?.packets ?? 0) > 10, 5_000, 'RTP from Asterisk');
    const { createSocket } = await import('node:dgram');
    const intruder = createSocket('udp4');
    const packet = Buffer.alloc(172);
    packet[0] = 0x80; // version 2, PT 0
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => intruder.send(packet, port, '127.0.0.1', () => r()));
    intruder.close();
    await until(() => w!.audioPath.stats(callId)!.rtp!.foreignSource >= 5, 5_000, 'intruder counted');
    const packetsBefore = w.audioPath.stats(callId)!.rtp!.packets;
    await until(() => w!.audioPath.stats(callId)!.rtp!.packets > packetsBefore + 10, 5_000, "Asterisk's stream goes on");
    expect(w.audioPath.stats(callId)!.rtp!.foreignSource).toBe(5);
  });

  it('a silent tap is torn down and rebuilt, and the call ends up tapped', async () => {
    w = await fixture.world({ ports: [46120, 46139] });
    w.sim.setSilentTaps(1);
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    expect(w.taps(callId).map((t) => [t.state, t.attempt])).toEqual([
      ['retrying', 1],
      ['tapped', 2],
    ]);
    expect(w.taps(callId)[0]!.reason).toMatch(/no RTP/);
    // only the second tap's objects remain, and one UDP port
    expect(w.leftovers().channels).toHaveLength(2);
    expect(w.leftovers().bridges).toHaveLength(1);
    expect(w.ports.inUse).toBe(1);
  });

  it('a permanently silent tap gives up after ari.tapRetries rebuilds with an untapped event, leaving nothing behind', async () => {
    w = await fixture.world({ ports: [46140, 46159], ari: { tapRetries: 2, tapHealthMs: 500 } });
    w.sim.setSilentTaps(100);
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'untapped'), 15_000, 'untapped');
    expect(w.taps(callId).map((t) => [t.state, t.attempt])).toEqual([
      ['retrying', 1],
      ['retrying', 2],
      ['untapped', 3],
    ]);
    expect(w.taps(callId)[2]!.reason).toMatch(/no RTP .* after 3 attempts/);
    expect(w.leftovers()).toEqual({ channels: [], bridges: [] });
    expect(w.ports.inUse).toBe(0);
    // the call itself goes on, still tracked (untapped), and is not hung up
    expect(w.sim.channel(callId)!.hungUp).toBe(false);
    expect(w.registry.get(callId)).toMatchObject({ tapped: false });
  });

  it('with the RTP port pool exhausted a new call goes untapped with a warning, and nothing leaks', async () => {
    w = await fixture.world({ ports: [46160, 46160] });
    const first = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(first).some((t) => t.state === 'tapped'), 10_000, 'first tapped');
    const second = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(second).some((t) => t.state === 'untapped'), 10_000, 'second untapped');
    expect(w.taps(second)[0]!.reason).toMatch(/port pool exhausted/);
    expect(w.logs.join('')).toContain('RTP port pool exhausted');
    expect(w.sim.channel(second)).toMatchObject({ inStasis: false, hungUp: false, dialplanApp: 'Wait' });
    // only the first call's tap exists
    const snoops = w.sim.channels().filter((c) => c.kind === 'snoop');
    expect(snoops.map((c) => c.snoopOf)).toEqual([first]);
    w.sim.hangup(second);
    await until(() => w!.registry.size === 1, 10_000, 'second ended');
    expect(w.ports.inUse).toBe(1);
  });

  it("when Asterisk cannot allocate the externalMedia channel (RTP range exhausted) the call goes untapped and the half-built tap is removed", async () => {
    w = await fixture.world({ ports: [46170, 46179], sim: { maxExternalMedia: 1 } });
    const first = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(first).some((t) => t.state === 'tapped'), 10_000, 'first tapped');
    const second = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(second).some((t) => t.state === 'untapped'), 10_000, 'second untapped');
    expect(w.taps(second).map((t) => t.state)).toEqual(['untapped']); // no hammering with retries
    expect(w.taps(second)[0]!.reason).toMatch(/Allocation failed/);
    expect(w.sim.channels().filter((c) => c.kind === 'snoop').map((c) => c.snoopOf)).toEqual([first]);
    expect(w.leftovers().bridges).toHaveLength(1);
    expect(w.ports.inUse).toBe(1);
    expect(w.sim.channel(second)!.hungUp).toBe(false);
  });

  it('decide: writes the verdict variables and returns the caller to the dialplan, then keeps it tapped', async () => {
    w = await fixture.world({ ports: [46180, 46189] });
    const callId = await w.sim.placeCall({ stasisArgs: ['decide'] });
    await until(() => w!.sim.channel(callId)?.inStasis === false, 5000, 'returned');
    expect(w.sim.channel(callId)!.leftStasisWith).toMatchObject({ SER_EMOTION: 'unknown', SER_NEGATIVITY: '0.00', SER_ESCALATE: '0', QUEUE_PRIO: '0' });
    expect(w.sim.channel(callId)!.dialplanApp).toBe('Wait');
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    await until(() => w!.registry.get(callId)?.inStasis === false, 5000, 'the app saw the caller leave Stasis');
    expect(w.registry.get(callId)).toMatchObject({ mode: 'decide' });
  });

  it('queue mode without a built-in queue taps the caller and hands it back to the dialplan', async () => {
    w = await fixture.world({ ports: [46190, 46199] });
    const callId = await w.sim.placeCall({ stasisArgs: ['queue', 'support'] });
    await until(() => w!.sim.channel(callId)?.inStasis === false, 5000, 'returned').catch((e) => { console.log(w!.logs.join(''), w!.sim.channel(callId)); throw e; });
    expect(w.registry.get(callId)).toMatchObject({ mode: 'queue', queue: 'support' });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
  });

  it('queue mode hands the tapped caller to the queue handler, which owns it until it ends', async () => {
    const admitted: string[] = [];
    const ended: string[] = [];
    w = await fixture.world({
      ports: [46200, 46209],
      queueHandler: {
        admit: async ({ callId, channel, queue }) => {
          expect(channel?.state).toBe('Up');
          admitted.push(`${callId}@${queue}`);
        },
        onCallEnded: (callId) => ended.push(callId),
      },
    });
    const callId = await w.sim.placeCall({ stasisArgs: ['queue', 'billing'] });
    await until(() => admitted.length === 1, 5000, 'admitted');
    expect(admitted).toEqual([`${callId}@billing`]);
    // tap built before admission
    expect(w.leftovers().channels).toHaveLength(2);
    expect(w.sim.channel(callId)!.inStasis).toBe(true);
    w.sim.hangup(callId);
    await until(() => ended.length === 1, 5000, 'ended');
    await until(() => w!.registry.size === 0, 5000, 'removed');
    expect(w.leftovers()).toEqual({ channels: [], bridges: [] });
  });

  it('stop() (SIGTERM) releases every tap, returns callers in Stasis to the dialplan and hangs none up', async () => {
    w = await fixture.world({
      ports: [46210, 46229],
      queueHandler: { admit: async () => undefined, onCallEnded: () => undefined },
    });
    const a = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    const b = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    const q = await w.sim.placeCall({ stasisArgs: ['queue', 'support'] });
    await until(() => [a, b, q].every((id) => w!.taps(id).some((t) => t.state === 'tapped')), 10_000, 'all tapped');
    expect(w.sim.channel(q)!.inStasis).toBe(true);
    await w.app.stop();
    expect(w.leftovers()).toEqual({ channels: [], bridges: [] });
    expect(w.ports.inUse).toBe(0);
    for (const id of [a, b, q]) expect(w.sim.channel(id)).toMatchObject({ hungUp: false, inStasis: false });
    expect(w.registry.size).toBe(0);
    expect(w.app.health().state).toBe('stopped');
  });

  it('a StasisStart that arrives before the HTTP response of the snoop is handled (slow REST)', async () => {
    w = await fixture.world({ ports: [46230, 46239], sim: { restLatencyMs: 40 } });
    const stasisBeforeResponse: string[] = [];
    const pending = new Set<string>();
    w.sim.on('event', (_app, e) => {
      const ev = e as { type: string; channel?: { id: string; name: string } };
      if (ev.type === 'StasisStart' && ev.channel?.name.startsWith('Snoop/')) stasisBeforeResponse.push(ev.channel.id);
    });
    w.sim.on('rest', (r) => {
      if (r.path.includes('/snoop/')) pending.add(r.path);
    });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    expect(stasisBeforeResponse).toHaveLength(1);
    expect(w.taps(callId).map((t) => t.state)).toEqual(['tapped']);
    expect(w.leftovers().channels).toHaveLength(2);
    expect(w.registry.size).toBe(1);
  });

  it('a websocket drop: reconnects, reconciles, the tap keeps running and a hang-up missed meanwhile is caught', async () => {
    w = await fixture.world({ ports: [46240, 46259] });
    const kept = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    const missed = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => [kept, missed].every((id) => w!.taps(id).some((t) => t.state === 'tapped')), 10_000, 'tapped');
    const before = w.leftovers();
    const handedOver: unknown[] = [];
    w.app.app.onConnected((client) => handedOver.push(client));
    w.sim.dropWebsockets();
    w.sim.hangup(missed); // while no websocket is connected: no events reach us
    await until(() => w!.app.health().reconnects >= 1 && w!.app.health().connected, 15_000, 'reconnected');
    // the queue follows the app through this hook: once per reconnect, with the client serving now
    expect(handedOver).toHaveLength(1);
    expect(handedOver[0]).toBe(w.app.app.client);
    await until(() => w!.registry.size === 1, 10_000, 'missed hang-up reconciled');
    expect(w.registry.get(kept)).toMatchObject({ tapped: true });
    const after = w.leftovers();
    expect(after.channels.every((id) => before.channels.includes(id))).toBe(true);
    expect(after.channels).toHaveLength(2); // the kept call's snoop + externalMedia, untouched
    expect(after.bridges).toHaveLength(1);
    expect(w.ports.inUse).toBe(1);
  });

  it('an Asterisk restart: reconnects, ends the calls that vanished, releases their ports, and taps new calls', async () => {
    w = await fixture.world({ ports: [46260, 46279] });
    const old = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(old).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    await w.sim.restart(300);
    await until(() => w!.app.health().reconnects >= 1 && w!.app.health().connected, 20_000, 'reconnected');
    await until(() => w!.registry.size === 0, 10_000, 'vanished call ended');
    expect(w.events.find((e) => e.type === 'call.ended' && e.callId === old)).toMatchObject({ reason: 'gone after reconnect' });
    expect(w.ports.inUse).toBe(0);
    expect(w.audioPath.size).toBe(0);
    const fresh = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(fresh).some((t) => t.state === 'tapped'), 10_000, 'new call tapped');
  });

  it('a tap that loses its externalMedia channel while the caller is up is rebuilt', async () => {
    w = await fixture.world({ ports: [46280, 46289] });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w!.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    const em = w.sim.channels().find((c) => c.kind === 'external')!;
    const other = await ari.connect(w.sim.url, w.sim.user, w.sim.password); // someone else, REST only
    await other.channels.hangup({ channelId: em.id });
    await until(() => w!.taps(callId).filter((t) => t.state === 'tapped').length === 2, 10_000, 'tapped again');
    expect(w.taps(callId).map((t) => t.state)).toEqual(['tapped', 'retrying', 'tapped']);
    expect(w.taps(callId)[1]!.reason).toBe('externalMedia channel gone');
    const now = w.leftovers();
    expect(now.channels).toHaveLength(2);
    expect(now.channels).not.toContain(em.id);
    expect(now.bridges).toHaveLength(1);
    expect(w.ports.inUse).toBe(1);
  });

  it('decide returns the caller even when Asterisk is too slow to confirm the variables within the budget', async () => {
    w = await fixture.world({ ports: [46290, 46299], sim: { restLatencyMs: 150 }, ari: { decideBudgetMs: 50 } });
    const callId = await w.sim.placeCall({ stasisArgs: ['decide'] });
    await until(() => w!.sim.channel(callId)?.inStasis === false, 5000, 'returned');
    expect(w.logs.join('')).toContain('decision variables not confirmed within the budget');
    expect(w.sim.channel(callId)).toMatchObject({ hungUp: false, dialplanApp: 'Wait' });
  });

  it.skipIf(!HAVE_CREMA_D)('monitor then decide: the decision point gets the current verdict and the priority the rules asked for meanwhile', async () => {
    w = await fixture.world({ ports: [46600, 46609] });
    const emotions: EmotionUpdate[] = [];
    w.audioPath.on('emotion', (u) => emotions.push(u));
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'], audio: testActorSpeech('ANG', 3, 1) });
    await until(() => emotions.filter((u) => u.callId === callId && u.classified > 0).length >= 2, 20_000, 'classified windows');
    // the rules raise the priority while the caller is in the menu (outside Stasis): kept for the decision point
    expect(await w.app.control.setPriority(callId, { set: 7 })).toEqual({ ok: true });
    w.sim.runDialplan(callId, 'Stasis(ser,decide)', 'Queue(support)');
    await until(() => w!.sim.channel(callId)?.dialplanApp === 'Queue', 5000, 'queued in app_queue');
    const vars = w.sim.channel(callId)!.leftStasisWith!;
    expect(fixture.engine().labels).toContain(vars.SER_EMOTION);
    const negativity = Number(vars.SER_NEGATIVITY);
    expect(negativity).toBeGreaterThan(0);
    expect(vars.SER_ESCALATE).toBe(negativity >= 0.7 ? '1' : '0');
    expect(vars.QUEUE_PRIO).toBe('7');
    // the same call, still tapped by its first tap; the simulator moves the channel on before the app
    // has read the StasisEnd, so wait for the app's own view of it
    await until(() => w!.registry.get(callId)?.inStasis === false, 5000, 'the app saw the caller leave Stasis');
    expect(w.registry.size).toBe(1);
    expect(w.registry.get(callId)).toMatchObject({ mode: 'monitor', inStasis: false, tapped: true });
    expect(w.taps(callId).map((t) => t.state)).toEqual(['tapped']);
  });
});

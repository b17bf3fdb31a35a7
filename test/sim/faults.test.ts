import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { connect, isType, refusal, sleep, type AriEvent, type Connected } from './helpers.js';

/** Faults and the dialplan/agent model: what the ARI app must survive, driven through the real client. */

let sim: AriSimulator;
let clients: Connected[];
let receiver: Socket;
let packets: number;

beforeEach(async () => {
  sim = await AriSimulator.start({ maxExternalMedia: 2 });
  clients = [];
  packets = 0;
  receiver = createSocket('udp4');
  receiver.on('message', () => packets++);
  await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
});

afterEach(async () => {
  for (const c of clients) c.close();
  receiver.close();
  await sim.stop();
});

async function client(app = 'ser'): Promise<Connected> {
  const c = await connect(sim, app);
  clients.push(c);
  return c;
}

async function tap(c: Connected, callerId: string): Promise<string> {
  const snoop = await c.ari.channels.snoopChannel({ channelId: callerId, spy: 'in', app: 'ser' });
  const em = await c.ari.channels.externalMedia({ app: 'ser', external_host: `127.0.0.1:${receiver.address().port}`, format: 'ulaw' });
  // as on Asterisk (recording 13), externalMedia enters Stasis after its 200: addChannel before that is a 422
  await c.waitFor(isType('StasisStart', snoop.id));
  await c.waitFor(isType('StasisStart', em.id));
  const bridge = await c.ari.bridges.create({ type: 'mixing' });
  await c.ari.bridges.addChannel({ bridgeId: bridge.id, channel: [snoop.id, em.id] });
  return em.id;
}

describe('faults', () => {
  it('a silent tap sends no RTP although snoop and externalMedia are bridged; the next tap works', async () => {
    const c = await client();
    sim.setSilentTaps(1);
    const first = await sim.placeCall({ stasisArgs: ['monitor'] });
    const silentEm = await tap(c, first);
    await sleep(300);
    expect(packets).toBe(0);
    expect(sim.channel(silentEm)?.rtp).toMatchObject({ silent: true, sent: 0 });
    const second = await sim.placeCall({ stasisArgs: ['monitor'] });
    await tap(c, second);
    const deadline = Date.now() + 3000;
    while (packets < 5 && Date.now() < deadline) await sleep(20);
    expect(packets).toBeGreaterThanOrEqual(5);
  });

  it('Stasis fails at once without a websocket for the app: STASISSTATUS=FAILED, the call stays in the dialplan untapped', async () => {
    const c = await client('other');
    const id = await sim.placeCall({ stasisArgs: ['monitor'], afterStasis: 'Queue(support)' });
    expect(sim.channel(id)).toMatchObject({ inStasis: false, stasisStatus: 'FAILED', dialplanApp: 'Queue', dialplanAppData: 'support', hungUp: false });
    expect(sim.channel(id)!.variables['STASISSTATUS']).toBe('FAILED');
    await sleep(50);
    expect(c.events).toEqual([]);
  });

  it('events go only to the app the channel is in', async () => {
    const ser = await client('ser');
    const other = await client('other');
    const a = await sim.placeCall({ stasisArgs: ['monitor'] });
    const b = await sim.placeCall({ stasisArgs: ['monitor'], app: 'other' });
    await ser.waitFor(isType('StasisStart', a));
    await other.waitFor(isType('StasisStart', b));
    sim.hangup(a);
    await ser.waitFor(isType('StasisEnd', a));
    const ids = (events: AriEvent[]) => new Set(events.map((e) => (e['channel'] as { id: string }).id));
    expect(ids(ser.events)).toEqual(new Set([a]));
    expect(ids(other.events)).toEqual(new Set([b]));
    expect(ser.events.every((e) => e['application'] === 'ser')).toBe(true);
  });

  it('beyond maxExternalMedia, externalMedia fails as an RTP port shortage does: 500 Allocation failed', async () => {
    const c = await client();
    const em = (n: number) => c.ari.channels.externalMedia({ app: 'ser', external_host: `127.0.0.1:${40100 + n}`, format: 'ulaw' });
    const first = await em(1);
    await em(2);
    expect(await refusal(em(3))).toEqual({ error: 'Allocation failed' });
    await c.ari.channels.hangup({ channelId: first.id });
    await c.waitFor(isType('ChannelDestroyed', first.id));
    await em(4);
  });

  it('restart: websockets dropped, channels and bridges lost, the client reconnects to the same port, new calls get new ids', async () => {
    const c = await client();
    const before = await sim.placeCall({ stasisArgs: ['monitor'] });
    await c.ari.bridges.create({ type: 'mixing' });
    const port = sim.port;
    let reconnected = 0;
    c.client.on('WebSocketConnected', () => reconnected++);
    await sim.restart(200);
    expect(sim.port).toBe(port);
    expect(sim.channels()).toEqual([]);
    expect(sim.bridges()).toEqual([]);
    const deadline = Date.now() + 8000;
    while (reconnected === 0 && Date.now() < deadline) await sleep(20);
    expect(reconnected).toBe(1);
    expect(await refusal(c.ari.channels.get({ channelId: before }))).toEqual({ message: 'Channel not found' });
    const after = await sim.placeCall({ stasisArgs: ['monitor'] });
    await c.waitFor(isType('StasisStart', after));
    expect(after.split('.')[0]).not.toBe(before.split('.')[0]);
  });

  it('dropWebsockets keeps the calls; events flow again after the client reconnects', async () => {
    const c = await client();
    const id = await sim.placeCall({ stasisArgs: ['monitor'] });
    await c.waitFor(isType('StasisStart', id));
    let reconnected = 0;
    c.client.on('WebSocketConnected', () => reconnected++);
    sim.dropWebsockets();
    expect(sim.channel(id)).toMatchObject({ inStasis: true, hungUp: false });
    const deadline = Date.now() + 5000;
    while (reconnected === 0 && Date.now() < deadline) await sleep(20);
    expect(reconnected).toBe(1);
    sim.hangup(id);
    await c.waitFor(isType('StasisEnd', id));
  });
});

describe('agents and dialplan', () => {
  it('an answering agent enters Stasis on answer; a busy one ends with cause 17; a silent one rings until the timeout (cause 19)', async () => {
    const c = await client();
    sim.addAgent({ endpoint: 'PJSIP/1001', behaviour: 'answer', answerAfterMs: 50 });
    sim.addAgent({ endpoint: 'PJSIP/1002', behaviour: 'busy' });
    sim.addAgent({ endpoint: 'PJSIP/1003', behaviour: 'no-answer' });
    const answered = await c.ari.channels.originate({ endpoint: 'PJSIP/1001', app: 'ser', appArgs: 'agent,1001' });
    expect(answered).toMatchObject({ state: 'Down', name: expect.stringMatching(/^PJSIP\/1001-[0-9a-f]{8}$/) });
    const start = await c.waitFor(isType('StasisStart', answered.id));
    expect(start).toMatchObject({ args: ['agent', '1001'], channel: { state: 'Up' } });
    const busy = await c.ari.channels.originate({ endpoint: 'PJSIP/1002', app: 'ser' });
    expect(await c.waitFor(isType('ChannelDestroyed', busy.id))).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    expect(c.events.some((e) => e.type === 'Dial' && e['dialstatus'] === 'BUSY')).toBe(true);
    const ringing = await c.ari.channels.originate({ endpoint: 'PJSIP/1003', app: 'ser', timeout: 1 });
    expect(await c.waitFor(isType('ChannelDestroyed', ringing.id), 4000)).toMatchObject({ cause: 19 });
    expect(c.events.some((e) => e.type === 'StasisStart' && (e['channel'] as { id: string }).id === ringing.id)).toBe(false);
  });

  it('an offline agent shows as offline and cannot be called', async () => {
    const c = await client();
    sim.addAgent({ endpoint: 'PJSIP/1004', behaviour: 'offline' });
    sim.addAgent({ endpoint: 'PJSIP/1005', behaviour: 'answer' });
    const endpoints = await c.ari.endpoints.list();
    expect(endpoints.map((e: { resource: string; state: string }) => [e.resource, e.state])).toEqual(
      expect.arrayContaining([
        ['1004', 'offline'],
        ['1005', 'online'],
      ]),
    );
    expect(await refusal(c.ari.channels.originate({ endpoint: 'PJSIP/1004', app: 'ser' }))).toEqual({ error: 'Allocation failed' });
  });

  it('continue without a target runs the line after Stasis(); a Hangup() target ends the call', async () => {
    const c = await client();
    const id = await sim.placeCall({ stasisArgs: ['monitor'], afterStasis: 'Queue(sales)' });
    await c.ari.channels.setChannelVar({ channelId: id, variable: 'SER_EMOTION', value: 'NEU' });
    await c.ari.channels.continueInDialplan({ channelId: id });
    await c.waitFor(isType('StasisEnd', id));
    expect(sim.channel(id)).toMatchObject({ dialplanApp: 'Queue', dialplanAppData: 'sales', leftStasisWith: { SER_EMOTION: 'NEU' } });
    // Outside Stasis: hang-up and snoop still work.
    const snoop = await c.ari.channels.snoopChannel({ channelId: id, whisper: 'out', app: 'ser' });
    expect(snoop.name).toMatch(new RegExp(`^Snoop/${id.replace('.', '\\.')}-`));
    await c.ari.channels.hangup({ channelId: id });
    await c.waitFor(isType('StasisEnd', snoop.id));
    expect(sim.channel(id)).toBeUndefined();

    const other = await sim.placeCall({ stasisArgs: ['decide'] });
    await c.ari.channels.continueInDialplan({ channelId: other, context: 'ser-continue', extension: 'hangup' });
    await sleep(20);
    expect(sim.channel(other)).toBeUndefined();
  });
});

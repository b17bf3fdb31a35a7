import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { connect, isType, recordedEvents, refusal, rolesObject, type AriEvent, type Connected } from './helpers.js';

/**
 * The recorded Asterisk scenarios replayed against the simulator with the real ari-client: the same
 * REST calls in the same order (the far end's actions done through the simulator's control API),
 * then, per channel role, the sequence of events (type and the values that matter) and the fields
 * of every event and of its channel must equal the recording's.
 */

let sim: AriSimulator;
let client: Connected;

beforeEach(async () => {
  sim = await AriSimulator.start();
  client = await connect(sim);
});

afterEach(async () => {
  client.close();
  await sim.stop();
});

const chanOf = (e: AriEvent) => e['channel'] as { id: string };

describe('recorded scenarios', () => {
  it('01: originate with app, snoop spy=in, externalMedia ulaw, far end hangs up, leftovers removed', async () => {
    const { ari, waitFor } = client;
    const caller = await ari.channels.originate({
      endpoint: 'Local/play@caller',
      formats: 'ulaw',
      app: 'ser',
      appArgs: 'caller',
      callerId: '"SER Test" <5551234>',
      timeout: 30,
    });
    await waitFor(isType('StasisStart', caller.id));
    await ari.channels.answer({ channelId: caller.id });
    const snoop = await ari.channels.snoopChannel({ channelId: caller.id, spy: 'in', app: 'ser', appArgs: 'snoop,in-ulaw' });
    const em = await ari.channels.externalMedia({ app: 'ser', external_host: '127.0.0.1:40000', format: 'ulaw', direction: 'both', data: 'em,in-ulaw' });
    await waitFor(isType('StasisStart', snoop.id));
    await waitFor(isType('StasisStart', em.id));
    expect((await ari.channels.getChannelVar({ channelId: em.id, variable: 'UNICASTRTP_LOCAL_ADDRESS' })).value).toBe('127.0.0.1');
    const port = (await ari.channels.getChannelVar({ channelId: em.id, variable: 'UNICASTRTP_LOCAL_PORT' })).value;
    expect(port).toBe((em as unknown as { channelvars: Record<string, string> }).channelvars['UNICASTRTP_LOCAL_PORT']);
    const bridge = await ari.bridges.create({ type: 'mixing', name: 'ser-in-ulaw' });
    await ari.bridges.addChannel({ bridgeId: bridge.id, channel: [snoop.id, em.id] });
    await waitFor((e) => e.type === 'ChannelVarset' && e['variable'] === 'BRIDGEPEER' && chanOf(e).id === em.id);
    expect((await ari.channels.get({ channelId: em.id })).state).toBe('Up');
    expect((await ari.bridges.get({ bridgeId: bridge.id })).channels).toEqual([snoop.id, em.id]);

    sim.hangup(caller.id); // the far end's Playback ends, Hangup()
    await waitFor(isType('ChannelDestroyed', caller.id));
    await waitFor(isType('StasisEnd', snoop.id));
    expect((await ari.channels.list()).map((c: { id: string }) => c.id)).toEqual([em.id]);
    expect((await ari.bridges.get({ bridgeId: bridge.id })).channels).toEqual([em.id]);
    await ari.channels.hangup({ channelId: em.id, reason: 'normal' });
    await waitFor(isType('ChannelDestroyed', em.id));
    await ari.bridges.destroy({ bridgeId: bridge.id });
    await waitFor(isType('BridgeDestroyed'));
    expect(await ari.channels.list()).toEqual([]);
    expect(await ari.bridges.list()).toEqual([]);

    expect(rolesObject(client.events)).toEqual(rolesObject(recordedEvents('01-originate-app-snoop-in-externalmedia-ulaw')));
  });

  it('02: caller from the dialplan, snoop spy=both, externalMedia slin16, caller hung up over ARI while tapped', async () => {
    const { ari, waitFor } = client;
    const callerId = await sim.placeCall({ stasisArgs: ['inbound', '100'], number: '5550100', name: 'Inbound' });
    await waitFor(isType('StasisStart', callerId));
    const snoop = await ari.channels.snoopChannel({ channelId: callerId, spy: 'both', app: 'ser', appArgs: 'snoop,both-slin16' });
    const em = await ari.channels.externalMedia({ app: 'ser', external_host: '127.0.0.1:40002', format: 'slin16', direction: 'both', data: 'em,both-slin16' });
    await waitFor(isType('StasisStart', snoop.id));
    await waitFor(isType('StasisStart', em.id));
    await ari.channels.getChannelVar({ channelId: em.id, variable: 'UNICASTRTP_LOCAL_ADDRESS' });
    await ari.channels.getChannelVar({ channelId: em.id, variable: 'UNICASTRTP_LOCAL_PORT' });
    const bridge = await ari.bridges.create({ type: 'mixing', name: 'ser-both-slin16' });
    await ari.bridges.addChannel({ bridgeId: bridge.id, channel: [snoop.id, em.id] });
    await waitFor((e) => e.type === 'ChannelVarset' && e['variable'] === 'BRIDGEPEER' && chanOf(e).id === em.id);

    await ari.channels.hangup({ channelId: callerId, reason: 'normal' });
    await waitFor(isType('StasisEnd', snoop.id));
    expect((await ari.channels.list()).map((c: { id: string }) => c.id)).toEqual([em.id]);
    await ari.channels.hangup({ channelId: em.id });
    await waitFor(isType('ChannelDestroyed', em.id));
    await ari.bridges.destroy({ bridgeId: bridge.id });
    await waitFor(isType('BridgeDestroyed'));

    expect(rolesObject(client.events)).toEqual(rolesObject(recordedEvents('02-dialplan-stasis-snoop-both-slin16-hangup')));
  });

  it('04: variables, redirect refused, subscription, continue into Queue with QUEUE_PRIO, 409s after, hangup', async () => {
    const { ari, waitFor } = client;
    const callerId = await sim.placeCall({ stasisArgs: ['inbound', '200'], number: '5550200', name: 'Queue Caller', exten: '200' });
    await waitFor(isType('StasisStart', callerId));
    await ari.channels.setChannelVar({ channelId: callerId, variable: 'QUEUE_PRIO', value: '10' });
    expect(await ari.channels.getChannelVar({ channelId: callerId, variable: 'QUEUE_PRIO' })).toEqual({ value: '10' });
    await ari.channels.setChannelVar({ channelId: callerId, variable: 'SER_EMOTION', value: 'angry' });
    expect(await refusal(ari.channels.getChannelVar({ channelId: callerId, variable: 'NO_SUCH_VAR' }))).toEqual({
      message: 'Provided variable was not found',
    });
    expect(await ari.channels.getChannelVar({ channelId: callerId, variable: 'CHANNEL(state)' })).toEqual({ value: 'Up' });
    // Recorded on a Local channel; the simulator's callers are PJSIP, so the mismatch is the other way round.
    expect(await refusal(ari.channels.redirect({ channelId: callerId, endpoint: 'Local/agent1@agents' }))).toEqual({
      message: "Endpoint technology 'Local' does not match channel technology 'PJSIP'",
    });
    const app = await ari.applications.subscribe({ applicationName: 'ser', eventSource: `channel:${callerId}` });
    expect(app.channel_ids).toEqual([callerId]);
    await ari.channels.continueInDialplan({ channelId: callerId, context: 'ser-continue', extension: 'queue', priority: 1 });
    await waitFor((e) => e.type === 'ChannelVarset' && e['variable'] === 'QUEUEWAIT_MS');

    const info = sim.channel(callerId)!;
    expect(info.inStasis).toBe(false);
    expect(info.dialplanApp).toBe('Queue');
    expect(info.dialplanAppData).toBe('support,,,,30');
    expect(info.leftStasisWith).toMatchObject({ QUEUE_PRIO: '10', SER_EMOTION: 'angry' });
    expect((await ari.channels.get({ channelId: callerId })).dialplan.app_name).toBe('Queue');
    const notInStasis = { message: 'Channel not in Stasis application' };
    expect(await refusal(ari.channels.continueInDialplan({ channelId: callerId, context: 'ser-continue', extension: 'queue', priority: 1 }))).toEqual(notInStasis);
    expect(await refusal(ari.channels.setChannelVar({ channelId: callerId, variable: 'QUEUE_PRIO', value: '5' }))).toEqual(notInStasis);

    await ari.channels.hangup({ channelId: callerId, reason: 'normal' });
    await waitFor(isType('ChannelDestroyed', callerId));
    expect(await refusal(ari.applications.unsubscribe({ applicationName: 'ser', eventSource: `channel:${callerId}` }))).toEqual({
      message: 'Event source was not subscribed to',
    });

    // Not modelled: app_queue ringing its member and bridging it (Dial, QUEUEPOSITION, BRIDGEPEER, timing variables).
    const recorded = recordedEvents('04-setvar-continue-queue-hangup');
    const firstQueueDial = recorded.findIndex((e) => e.type === 'Dial');
    const queueInternals = new Set(['QUEUEPOSITION', 'QUEUEWAIT', 'QUEUEWAIT_MS', 'BRIDGEPEER', 'ANSWEREDTIME', 'ANSWEREDTIME_MS', 'DIALEDTIME', 'DIALEDTIME_MS']);
    const modelled = recorded.filter(
      (e, i) => i < firstQueueDial || (e.type !== 'Dial' && !(e.type === 'ChannelVarset' && queueInternals.has(String(e['variable'])))),
    );
    expect(rolesObject(client.events)).toEqual(rolesObject(modelled));
  });

  it('05: holding bridge with MOH and ring tone, channel ring/moh, create + dial an agent, originate an agent, caller hangs up while bridged', async () => {
    const { ari, waitFor } = client;
    const callerId = await sim.placeCall({ stasisArgs: ['inbound', '300'], exten: '300' });
    await waitFor(isType('StasisStart', callerId));
    const hold = await ari.bridges.create({ type: 'holding', name: 'ser-hold' });
    await ari.bridges.addChannel({ bridgeId: hold.id, channel: callerId, role: 'participant' });
    await ari.bridges.startMoh({ bridgeId: hold.id, mohClass: 'default' });
    await ari.bridges.stopMoh({ bridgeId: hold.id });
    const pb = await ari.bridges.play({ bridgeId: hold.id, media: 'tone:ring;tonezone=us', playbackId: 'ring-on-hold' });
    expect(pb).toMatchObject({ id: 'ring-on-hold', target_uri: `bridge:${hold.id}`, state: 'queued' });
    await waitFor(isType('PlaybackStarted'));
    await ari.playbacks.stop({ playbackId: 'ring-on-hold' });
    await ari.bridges.removeChannel({ bridgeId: hold.id, channel: callerId });
    await waitFor(isType('ChannelLeftBridge', callerId));
    await ari.bridges.destroy({ bridgeId: hold.id });
    await ari.channels.ring({ channelId: callerId });
    await ari.channels.ringStop({ channelId: callerId });
    await ari.channels.startMoh({ channelId: callerId, mohClass: 'default' });
    await ari.channels.stopMoh({ channelId: callerId });

    const mix = await ari.bridges.create({ type: 'mixing', name: 'ser-agent' });
    const agent = await ari.channels.create({ endpoint: 'Local/agent2@agents', formats: 'ulaw', app: 'ser', appArgs: 'agent' });
    await ari.bridges.addChannel({ bridgeId: mix.id, channel: callerId });
    await waitFor(isType('StasisStart', agent.id));
    await waitFor(isType('ChannelEnteredBridge', callerId));
    await ari.bridges.startMoh({ bridgeId: mix.id, mohClass: 'default' });
    await ari.channels.dial({ channelId: agent.id, caller: callerId, timeout: 10 });
    await ari.bridges.stopMoh({ bridgeId: mix.id });
    await waitFor((e) => e.type === 'Dial' && e['dialstatus'] === 'ANSWER');
    await ari.bridges.addChannel({ bridgeId: mix.id, channel: agent.id });
    await waitFor((e) => e.type === 'ChannelVarset' && e['variable'] === 'BRIDGEPEER' && chanOf(e).id === agent.id);
    await ari.bridges.removeChannel({ bridgeId: mix.id, channel: agent.id });
    expect(await refusal(ari.bridges.removeChannel({ bridgeId: mix.id, channel: agent.id }))).toEqual({ message: 'Channel not in this bridge' });
    await ari.channels.hangup({ channelId: agent.id, reason: 'normal' });
    await ari.channels.hangup({ channelId: callerId, reason: 'busy' });
    await waitFor(isType('ChannelDestroyed', agent.id));
    await waitFor(isType('StasisEnd', callerId));
    await ari.bridges.destroy({ bridgeId: mix.id });

    const caller2 = await ari.channels.originate({ endpoint: 'Local/loop@caller', formats: 'ulaw', app: 'ser', appArgs: 'caller2' });
    await waitFor(isType('BridgeDestroyed'));
    await waitFor(isType('StasisStart', caller2.id));
    const agent1 = await ari.channels.originate({ endpoint: 'Local/agent1@agents', app: 'ser', appArgs: 'agent2', originator: caller2.id });
    await waitFor(isType('StasisStart', agent1.id));
    const talk = await ari.bridges.create({ type: 'mixing' });
    await ari.bridges.addChannel({ bridgeId: talk.id, channel: [caller2.id, agent1.id] });
    await waitFor((e) => e.type === 'ChannelVarset' && e['variable'] === 'BRIDGEPEER' && chanOf(e).id === agent1.id);
    await ari.channels.hangup({ channelId: caller2.id, reason: 'normal' });
    await waitFor(isType('ChannelDestroyed', caller2.id));
    expect((await ari.bridges.get({ bridgeId: talk.id })).channels).toEqual([agent1.id]);
    await ari.channels.hangup({ channelId: agent1.id, reason: 'normal' });
    await ari.bridges.destroy({ bridgeId: talk.id });
    await waitFor((e) => e.type === 'BridgeDestroyed' && (e['bridge'] as { id: string }).id === talk.id);
    expect(await ari.channels.list()).toEqual([]);
    expect(await ari.bridges.list()).toEqual([]);

    expect(rolesObject(client.events)).toEqual(rolesObject(recordedEvents('05-bridge-agent-moh-ring')));
  });
});

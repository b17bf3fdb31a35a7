import { afterEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { connect, isType, refusal, type AriEvent, type Connected } from './helpers.js';

/**
 * What Asterisk 22 showed in recordings 10-13 (shared/asterisk/README.md "Facts from 10-13"), checked
 * on the simulator through the real ari-client.
 */

let sim: AriSimulator | undefined;
let client: Connected | undefined;

afterEach(async () => {
  client?.close();
  await sim?.stop();
  client = undefined;
  sim = undefined;
});

async function start(opts: Parameters<typeof AriSimulator.start>[0] = {}): Promise<Connected> {
  sim = await AriSimulator.start(opts);
  client = await connect(sim);
  return client;
}

const playbackOf = (e: AriEvent) => e['playback'] as { id: string; state: string; media_uri: string };

describe('10: MOH in a holding bridge that empties', () => {
  it('stops for good when the last caller leaves, answers 409 to DELETE, and comes back on POST', async () => {
    const { ari, waitFor } = await start();
    await ari.bridges.createWithId({ bridgeId: 'rec10-holding', type: 'holding' });
    await ari.bridges.startMoh({ bridgeId: 'rec10-holding', mohClass: 'default' });
    const a = await sim!.placeCall({ stasisArgs: ['queue'] });
    await waitFor(isType('StasisStart', a));
    await ari.bridges.addChannel({ bridgeId: 'rec10-holding', channel: a });
    expect(sim!.bridges()[0]!.moh).toBe('default');

    await ari.bridges.removeChannel({ bridgeId: 'rec10-holding', channel: a });
    const b = await sim!.placeCall({ stasisArgs: ['queue'] });
    await waitFor(isType('StasisStart', b));
    await ari.bridges.addChannel({ bridgeId: 'rec10-holding', channel: b });
    expect(sim!.bridges()[0]).toMatchObject({ channelIds: [b], moh: null }); // B hears silence
    expect(await refusal(ari.bridges.stopMoh({ bridgeId: 'rec10-holding' }))).toEqual({ message: "Bridge isn't playing music" });

    await ari.bridges.startMoh({ bridgeId: 'rec10-holding', mohClass: 'default' });
    await ari.bridges.startMoh({ bridgeId: 'rec10-holding', mohClass: 'default' }); // repeatable
    expect(sim!.bridges()[0]!.moh).toBe('default');
    sim!.hangup(b); // a hang-up empties the bridge the same way
    await waitFor(isType('ChannelLeftBridge', b));
    expect(sim!.bridges()[0]!.moh).toBeNull();
  });
});

describe('11: failed playback', () => {
  it('answers 201 queued for a missing sound, then PlaybackStarted and PlaybackFinished failed', async () => {
    const { ari, waitFor, events } = await start();
    const a = await sim!.placeCall({ stasisArgs: ['monitor'] });
    await waitFor(isType('StasisStart', a));
    const pb = await ari.channels.play({ channelId: a, media: 'sound:no-such-warning', playbackId: 'rec11-a-missing' });
    expect(pb.state).toBe('queued');
    const finished = await waitFor((e) => e.type === 'PlaybackFinished' && playbackOf(e).id === 'rec11-a-missing');
    expect(playbackOf(finished).state).toBe('failed');
    expect(events.filter((e) => (e['playback'] as { id?: string } | undefined)?.id === 'rec11-a-missing').map((e) => e.type)).toEqual(['PlaybackStarted', 'PlaybackFinished']);
    expect(await refusal(ari.playbacks.get({ playbackId: 'rec11-a-missing' }))).toEqual({ message: 'Playback not found' });
  });

  it('plays a known sound to done, and skips a missing first item of a list with PlaybackContinuing', async () => {
    const { ari, waitFor, events } = await start({ soundDurationMs: 50 });
    const a = await sim!.placeCall({ stasisArgs: ['monitor'] });
    await waitFor(isType('StasisStart', a));
    await ari.channels.play({ channelId: a, media: 'sound:ser-abuse-warning', playbackId: 'ok' });
    expect(playbackOf(await waitFor((e) => e.type === 'PlaybackFinished' && playbackOf(e).id === 'ok')).state).toBe('done');
    await ari.channels.play({ channelId: a, media: 'sound:no-such-warning,sound:ser-abuse-warning', playbackId: 'list' });
    expect(playbackOf(await waitFor((e) => e.type === 'PlaybackFinished' && playbackOf(e).id === 'list')).state).toBe('done');
    const list = events.filter((e) => (e['playback'] as { id?: string } | undefined)?.id === 'list');
    expect(list.map((e) => [e.type, playbackOf(e).state])).toEqual([
      ['PlaybackStarted', 'playing'],
      ['PlaybackContinuing', 'continuing'],
      ['PlaybackStarted', 'playing'],
      ['PlaybackFinished', 'done'],
    ]);
  });

  it('fails the same way on a whisper snoop of a caller outside Stasis', async () => {
    const { ari, waitFor } = await start();
    const a = await sim!.placeCall({ stasisArgs: ['monitor'] });
    await waitFor(isType('StasisStart', a));
    await ari.channels.continueInDialplan({ channelId: a });
    await ari.channels.snoopChannelWithId({ channelId: a, snoopId: 'w1', whisper: 'out', app: 'ser', appArgs: 'whisper' });
    await ari.channels.play({ channelId: 'w1', media: 'sound:no-such-warning', playbackId: 'w1-pb' });
    expect(playbackOf(await waitFor((e) => e.type === 'PlaybackFinished' && playbackOf(e).id === 'w1-pb')).state).toBe('failed');
  });
});

describe('12: objects gone after a restart', () => {
  it('forgets bridges; the old id answers 404 and can be created again once, then 409', async () => {
    const { ari } = await start();
    await ari.bridges.createWithId({ bridgeId: 'rec12-holding', type: 'holding' });
    client!.close();
    await sim!.restart(50);
    client = await connect(sim!);
    const again = client.ari;
    expect(await again.bridges.list()).toEqual([]);
    const caller = await sim!.placeCall({ stasisArgs: ['queue'] });
    await client.waitFor(isType('StasisStart', caller));
    expect(await refusal(again.bridges.addChannel({ bridgeId: 'rec12-holding', channel: caller }))).toEqual({ message: 'Bridge not found' });
    await again.bridges.createWithId({ bridgeId: 'rec12-holding', type: 'holding' });
    expect(await refusal(again.bridges.createWithId({ bridgeId: 'rec12-holding', type: 'holding' }))).toEqual({ message: "Bridge with id 'rec12-holding' already exists" });
    expect(await refusal(again.bridges.create({ bridgeId: 'rec12-holding', type: 'holding' }))).toEqual({ message: "Bridge with id 'rec12-holding' already exists" });
    void ari;
  });
});

describe('13: addChannel before StasisStart', () => {
  it('answers externalMedia before the channel enters Stasis, and addChannel meanwhile is a 422', async () => {
    const { ari, waitFor } = await start({ externalMediaStasisDelayMs: 200 });
    const a = await sim!.placeCall({ stasisArgs: ['monitor'] });
    await waitFor(isType('StasisStart', a));
    await ari.channels.snoopChannelWithId({ channelId: a, snoopId: 's1', spy: 'in', app: 'ser', appArgs: 'snoop' });
    await ari.bridges.createWithId({ bridgeId: 'b1', type: 'mixing' });
    const em = await ari.channels.externalMedia({ channelId: 'em1', app: 'ser', external_host: '127.0.0.1:40000', format: 'ulaw', data: 'em' });
    expect(em.state).toBe('Down');
    const statuses: number[] = [];
    sim!.on('rest', (r) => {
      if (r.path.endsWith('/addChannel')) statuses.push(r.status);
    });
    expect(await refusal(ari.bridges.addChannel({ bridgeId: 'b1', channel: ['s1', 'em1'] }))).toEqual({ message: 'Channel not in Stasis application' });
    expect(sim!.bridges().find((b) => b.id === 'b1')!.channelIds).toEqual([]); // all or nothing
    await waitFor(isType('StasisStart', 'em1'));
    await ari.bridges.addChannel({ bridgeId: 'b1', channel: ['s1', 'em1'] });
    expect(statuses).toEqual([422, 204]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { connect, isType, refusal, type AriEvent, type Connected } from './helpers.js';

/**
 * What the caller heard (shared README and ours: `transmit_silence`). A whisper=out snoop mixes its
 * playback into the frames Asterisk sends the caller; a caller in Wait() gets none unless
 * transmit_silence is on, yet Asterisk reports the playback `done` either way (Asterisk 22.10.1).
 */

let sim: AriSimulator | undefined;
let client: Connected | undefined;

afterEach(async () => {
  client?.close();
  await sim?.stop();
  client = undefined;
  sim = undefined;
});

async function start(transmitSilence?: boolean): Promise<Connected> {
  sim = await AriSimulator.start({ soundDurationMs: 50, ...(transmitSilence === undefined ? {} : { transmitSilence }) });
  client = await connect(sim);
  return client;
}

const finished = (id: string) => (e: AriEvent) => e.type === 'PlaybackFinished' && (e['playback'] as { id: string }).id === id;

async function whisperToWaitingCaller(c: Connected): Promise<{ callerId: string; state: string }> {
  const callerId = await sim!.placeCall({ stasisArgs: ['monitor'] });
  await c.waitFor(isType('StasisStart', callerId));
  await c.ari.channels.continueInDialplan({ channelId: callerId });
  expect(sim!.channel(callerId)!.dialplanApp).toBe('Wait');
  await c.ari.channels.snoopChannelWithId({ channelId: callerId, snoopId: 'w1', whisper: 'out', app: 'ser', appArgs: 'whisper' });
  await c.ari.channels.play({ channelId: 'w1', media: 'sound:ser-abuse-warning', playbackId: 'w1-pb' });
  const e = await c.waitFor(finished('w1-pb'));
  return { callerId, state: (e['playback'] as { state: string }).state };
}

describe('what the caller heard', () => {
  it('transmit_silence on (the default): a whisper to a caller in Wait() is done and heard', async () => {
    const c = await start();
    const { callerId, state } = await whisperToWaitingCaller(c);
    expect(state).toBe('done');
    expect(sim!.channel(callerId)!.heard).toEqual(['sound:ser-abuse-warning']);
  });

  it('transmit_silence off: the same whisper is reported done but the caller heard nothing', async () => {
    const c = await start(false);
    const { callerId, state } = await whisperToWaitingCaller(c);
    expect(state).toBe('done');
    expect(sim!.channel(callerId)!.heard).toEqual([]);
  });

  it('transmit_silence off: played to a caller in Stasis, or whispered into a bridged one, it is heard', async () => {
    const c = await start(false);
    const a = await sim!.placeCall({ stasisArgs: ['monitor'] });
    await c.waitFor(isType('StasisStart', a));
    await c.ari.channels.play({ channelId: a, media: 'sound:beep', playbackId: 'direct' });
    await c.waitFor(finished('direct'));
    await c.ari.bridges.createWithId({ bridgeId: 'hold', type: 'holding' });
    await c.ari.bridges.addChannel({ bridgeId: 'hold', channel: a });
    await c.ari.channels.snoopChannelWithId({ channelId: a, snoopId: 'w2', whisper: 'both', app: 'ser' });
    await c.ari.channels.play({ channelId: 'w2', media: 'sound:ser-abuse-warning', playbackId: 'bridged' });
    await c.waitFor(finished('bridged'));
    await c.ari.channels.snoopChannelWithId({ channelId: a, snoopId: 's3', spy: 'in', whisper: 'in', app: 'ser' });
    await c.ari.channels.play({ channelId: 's3', media: 'sound:beep', playbackId: 'whisper-in' });
    await c.waitFor(finished('whisper-in'));
    expect(sim!.channel(a)!.heard).toEqual(['sound:beep', 'sound:ser-abuse-warning']);
    expect(await refusal(c.ari.channels.play({ channelId: 'nope', media: 'sound:beep' }))).toEqual({ message: 'Channel not found' });
  });
});

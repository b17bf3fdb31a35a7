import ari from 'ari-client';
import { describe, expect, it } from 'vitest';
import { ownArgs, ownId } from '../../src/ari/ids.js';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { until, useAriWorlds, type World } from './helpers.js';

/**
 * ser-ari itself restarts (crash, deploy) while calls are up: what the previous run left on Asterisk
 * is found by our ids. A caller still up is re-adopted and tapped again; a hung-up caller's leftovers
 * (externalMedia and bridge stay on Asterisk until deleted) are removed.
 */
describe('reconcile after ser-ari restarts', () => {
  const fixture = useAriWorlds();
  let w: World | null = null;

  it('re-adopts a caller still up and removes the orphans of one that hung up', async () => {
    const sim = await AriSimulator.start();
    // The "previous run": taps two callers, then dies without cleaning up.
    const prev = await ari.connect(sim.url, sim.user, sim.password);
    prev.on('StasisStart', (e) => {
      if ([e.args].flat()[0] === 'monitor') void prev.channels.continueInDialplan({ channelId: e.channel.id });
    });
    await prev.start('ser');
    const alive = await sim.placeCall({ stasisArgs: ['monitor'] });
    const gone = await sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => !sim.channel(alive)!.inStasis && !sim.channel(gone)!.inStasis, 5000, 'callers back in the dialplan');
    const leftovers: string[] = [];
    for (const [i, callId] of [alive, gone].entries()) {
      const snoopId = ownId('snoop', callId);
      const emId = ownId('em', callId);
      const bridgeId = ownId('bridge', callId);
      await prev.channels.snoopChannelWithId({ channelId: callId, snoopId, spy: 'in', app: 'ser', appArgs: ownArgs('snoop', callId) });
      await prev.channels.externalMedia({ channelId: emId, app: 'ser', external_host: `127.0.0.1:${46400 + i}`, format: 'ulaw', data: ownArgs('em', callId) } as never);
      await prev.bridges.createWithId({ bridgeId, type: 'mixing', name: `ser-tap:${callId}` });
      // As on a real Asterisk (recording 13), a channel can join a bridge only after its StasisStart,
      // which comes after the create's response: wait for both, as ser-ari does.
      await until(() => !!sim.channel(snoopId)?.inStasis && !!sim.channel(emId)?.inStasis, 5000, 'snoop and externalMedia in Stasis');
      await prev.bridges.addChannel({ bridgeId, channel: `${snoopId},${emId}` });
      leftovers.push(snoopId, emId, bridgeId);
    }
    (prev as unknown as { _wsClosed: boolean })._wsClosed = true;
    prev.stop();
    sim.hangup(gone); // its snoop leaves with it; its externalMedia and bridge stay
    await until(() => sim.channels().filter((c) => c.kind === 'snoop').length === 1, 5000, 'snoop of the hung-up caller gone');

    // The new run on the same Asterisk.
    w = await fixture.world({ ports: [46300, 46319], existingSim: sim });
    await until(() => w!.taps(alive).some((t) => t.state === 'tapped'), 10_000, 'alive caller re-tapped');
    expect(w.registry.get(alive)).toMatchObject({ mode: 'monitor', inStasis: false, tapped: true });
    expect(w.registry.get(gone)).toBeUndefined();
    // every object of the previous run is gone; only the new tap of the live caller exists
    const now = w.leftovers();
    for (const id of leftovers) {
      expect(now.channels).not.toContain(id);
      expect(now.bridges).not.toContain(id);
    }
    expect(now.channels).toHaveLength(2);
    expect(now.bridges).toHaveLength(1);
    expect(w.sim.channel(alive)!.hungUp).toBe(false);
    // and the adopted call is followed to its end
    w.sim.hangup(alive);
    await until(() => w!.registry.size === 0, 10_000, 'adopted call ended');
    expect(w.leftovers()).toEqual({ channels: [], bridges: [] });
    expect(w.ports.inUse).toBe(0);
  });
});

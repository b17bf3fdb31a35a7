import { describe, expect, it } from 'vitest';
import { until, useAriWorlds } from './helpers.js';

const { world } = useAriWorlds();

describe('a tap adds its channels to the bridge only once both are in Stasis', () => {
  it('waits for the externalMedia StasisStart that Asterisk sends after its 200 (recording 13): no 422, tapped at the first attempt', async () => {
    const w = await world({ ports: [47600, 47619], sim: { externalMediaStasisDelayMs: 150 } });
    const addChannel: number[] = [];
    w.sim.on('rest', (r) => {
      if (r.path.endsWith('/addChannel')) addChannel.push(r.status);
    });
    const callId = await w.sim.placeCall({ stasisArgs: ['monitor'] });
    await until(() => w.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    expect(addChannel).toEqual([204]);
    expect(w.taps(callId).map((t) => [t.state, t.attempt])).toEqual([['tapped', 1]]);
  });
});

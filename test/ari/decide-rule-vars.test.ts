import { describe, expect, it } from 'vitest';
import { until, useAriWorlds } from './helpers.js';

const { world } = useAriWorlds();

describe('Stasis(ser,decide)', () => {
  it("keeps a rule's setVars over the built-in verdict (issue 12 bug 5: SER_ESCALATE was overwritten with 0)", async () => {
    const w = await world({ ports: [47640, 47649] });
    const callId = await w.sim.placeCall({ stasisArgs: ['decide'] });
    await until(() => w.registry.get(callId)?.inStasis === false, 5000, 'back in the dialplan');
    expect(await w.app.control.setVariables(callId, { SER_ESCALATE: '1', SER_REASON: 'distress' })).toEqual({ ok: true });
    w.sim.runDialplan(callId, 'Stasis(ser,decide)', 'Wait(600)');
    await until(() => w.sim.channel(callId)?.dialplanApp === 'Wait', 5000, 'decision point done');
    expect(w.sim.channel(callId)!.leftStasisWith).toMatchObject({ SER_ESCALATE: '1', SER_REASON: 'distress', SER_EMOTION: 'unknown' });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { SerEvent } from '../../src/events/types.js';
import { HAVE_CREMA_D, testActorSpeech } from '../helpers/paths.js';
import { asteriskRig, freeswitchRig, type Rig } from './rigs.js';

/*
 * One contract, two switches: the same behaviour of the whole service (PBX-neutral call lifecycle,
 * call control, events, link drops, clean-up) on the Asterisk simulator and on the FreeSWITCH one.
 * Where the switches differ by design (capabilities), the test says which way each must go.
 */

const RIGS = [
  { name: 'asterisk', start: asteriskRig, ports: '46400-46499' },
  { name: 'freeswitch', start: freeswitchRig, ports: '46500-46599' },
] as const;

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const of = (events: SerEvent[], callId: string, type: SerEvent['type']) => events.filter((e) => e.callId === callId && e.type === type);

describe.each(RIGS)('PBX contract on the $name simulator', ({ start, ports }) => {
  let rig: Rig | null = null;
  afterEach(async () => {
    await rig?.stop();
    rig = null;
  });

  const speech = (): Float32Array => testActorSpeech('ANG', 3, 0, 'HI');

  it.skipIf(!HAVE_CREMA_D)('a caller enters, is tapped and scored every second; hanging up ends it with a summary and leaves nothing behind', async () => {
    rig = await start(ports);
    const r = rig;
    const callId = await r.place(speech(), '15550001');
    await until(() => of(r.events, callId, 'tap').some((e) => e.type === 'tap' && e.state === 'tapped'), 15_000, 'tapped');
    const started = of(r.events, callId, 'call.started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ mode: 'monitor', callerNumber: '15550001' });
    await until(() => of(r.events, callId, 'emotion').filter((e) => e.type === 'emotion' && e.speech).length >= 3, 20_000, 'three scored windows');
    expect(r.service.registry.get(callId)).toMatchObject({ tapped: true });
    r.hangup(callId);
    await until(() => of(r.events, callId, 'call.ended').length === 1, 10_000, 'call.ended');
    const ended = of(r.events, callId, 'call.ended')[0]!;
    expect(ended.type === 'call.ended' && ended.summary.classified).toBeGreaterThanOrEqual(3);
    expect(of(r.events, callId, 'tap').at(-1)).toMatchObject({ state: 'released' });
    expect(r.service.calls.size).toBe(0);
    await until(() => r.leftovers().length === 0, 10_000, `no leftovers (${r.leftovers().join(', ')})`);
    expect(r.service.audioPath.size).toBe(0);
  }, 60_000);

  it.skipIf(!HAVE_CREMA_D)('every action: variables and priority reach the dialplan, a transfer moves the caller, a warning is confirmed only when it played, a hang-up carries its cause', async () => {
    rig = await start(ports);
    const r = rig;
    const control = r.service.pbx.control;
    const a = await r.place(speech(), '15550002');
    await until(() => r.service.registry.get(a)?.tapped === true, 15_000, 'tapped');

    expect(await control.setVariables(a, { SER_CONTRACT: 'yes' })).toEqual({ ok: true });
    expect(await control.setPriority(a, { set: 4 })).toEqual({ ok: true });
    expect(await control.setPriority(a, { add: 3 })).toEqual({ ok: true });
    expect(r.service.registry.get(a)?.priority).toBe(7);
    expect(await r.dialplanVariable(a, 'SER_CONTRACT')).toBe('yes');
    expect(await r.dialplanVariable(a, 'QUEUE_PRIO')).toBe('7');

    // The warning-before-hang-up precondition: ok only once the switch says it played to the end.
    expect(await control.play(a, 'sound:ser-abuse-warning')).toEqual({ ok: true });
    expect(r.heard(a)).toContain('sound:ser-abuse-warning');
    const missing = await control.play(a, 'sound:no-such-prompt');
    expect(missing.ok).toBe(false);
    expect(r.up(a)).toBe(true);

    const moved = await control.transfer(a, { context: 'ser-contract', extension: 'agent' });
    if (r.service.pbx.capabilities.variablesAnyTime) {
      // FreeSWITCH moves a caller wherever it is in the dialplan.
      expect(moved).toEqual({ ok: true });
      expect(r.transferredTo(a)).toBe('agent XML ser-contract');
    } else {
      // ARI moves a caller outside Stasis at its next decision point.
      expect(moved).toEqual({ ok: true });
      await r.dialplanVariable(a, 'SER_CONTRACT');
      expect(r.transferredTo(a)).toBe('ser-contract/agent');
    }

    const b = await r.place(speech(), '15550003');
    await until(() => r.service.registry.get(b)?.tapped === true, 15_000, 'second caller tapped');
    expect(await control.hangup(b, 'busy')).toEqual({ ok: true });
    await until(() => !r.up(b), 10_000, 'caller hung up');
    expect(r.cause(b)).toBe('USER_BUSY');
    await until(() => of(r.events, b, 'call.ended').length === 1, 10_000, 'call.ended of the hung-up caller');
    // Acting on a call that is gone is a result, not a throw.
    expect((await control.setVariables(b, { X: '1' })).ok).toBe(false);
  }, 90_000);

  it.skipIf(!HAVE_CREMA_D)('the link drops with a caller talking: ser-ari reconnects, keeps the same call tapped and scored, nothing is duplicated', async () => {
    rig = await start(ports);
    const r = rig;
    const callId = await r.place(speech(), '15550004');
    await until(() => r.service.registry.get(callId)?.tapped === true, 15_000, 'tapped');
    await until(() => r.service.pbx.health().connected, 10_000, 'connected');
    r.dropLink();
    await until(() => r.service.pbx.health().reconnects >= 1 && r.service.pbx.health().connected, 20_000, 'reconnected');
    const scored = of(r.events, callId, 'emotion').length;
    await until(() => of(r.events, callId, 'emotion').length >= scored + 2, 15_000, 'still scored after the reconnect');
    expect(of(r.events, callId, 'call.started')).toHaveLength(1);
    expect(of(r.events, callId, 'call.ended')).toHaveLength(0);
    expect(r.service.calls.list().map((c) => c.callId)).toEqual([callId]);
    r.hangup(callId);
    await until(() => r.service.calls.size === 0, 10_000, 'ended');
    await until(() => r.leftovers().length === 0, 10_000, `no leftovers (${r.leftovers().join(', ')})`);
  }, 60_000);

  it.skipIf(!HAVE_CREMA_D)('the tap breaks while the caller talks: it is rebuilt, scoring goes on, the call is not ended', async () => {
    rig = await start(ports);
    const r = rig;
    const callId = await r.place(speech(), '15550007');
    await until(() => r.service.registry.get(callId)?.tapped === true, 15_000, 'tapped');
    r.breakTap(callId);
    const states = () => of(r.events, callId, 'tap').map((e) => (e.type === 'tap' ? e.state : ''));
    await until(() => states().includes('retrying') && states().at(-1) === 'tapped', 15_000, 'tap rebuilt');
    const scored = of(r.events, callId, 'emotion').length;
    await until(() => of(r.events, callId, 'emotion').length >= scored + 2, 15_000, 'scored after the rebuild');
    expect(states()).toEqual(['tapped', 'retrying', 'tapped']);
    expect(of(r.events, callId, 'call.ended')).toHaveLength(0);
    r.hangup(callId);
    await until(() => r.service.calls.size === 0, 10_000, 'ended');
    await until(() => r.leftovers().length === 0, 10_000, `no leftovers (${r.leftovers().join(', ')})`);
  }, 60_000);

  it.skipIf(!HAVE_CREMA_D)('ser-ari stops with callers up: they are released, not hung up, nothing of ours is left on the switch but the mark that lets a restart find them', async () => {
    rig = await start(ports);
    const r = rig;
    const ids = [await r.place(speech(), '15550005'), await r.place(speech(), '15550006')];
    await until(() => ids.every((id) => r.service.registry.get(id)?.tapped === true), 15_000, 'both tapped');
    await r.service.pbx.stop();
    expect(ids.map((id) => r.up(id))).toEqual([true, true]);
    for (const id of ids) expect(of(r.events, id, 'call.ended')[0]).toMatchObject({ reason: 'shutdown' });
    // Stopped, but the switch keeps what tells a restarted ser-ari which callers were its own: the
    // channel mark SER_TAPPED_BY on Asterisk, the mod_hash claim on FreeSWITCH (crash.test.ts restarts).
    await until(() => r.leftovers().length === 0, 10_000, `no leftovers (${r.leftovers().join(', ')})`);
    expect(r.marks().sort()).toEqual([...ids].sort());
  }, 60_000);
});

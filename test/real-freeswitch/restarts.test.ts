import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FsEvent } from '../../src/freeswitch/events.js';
import { HAVE_CREMA_D } from '../helpers/paths.js';
import { FreeSwitch, FREESWITCH_PREFIX, NEEDS } from './freeswitch.js';
import { bugs, channels, claims, exists, freePort, getvar, hangupAll, placeCall, SerAri, TcpProxy, until, writeVoice } from './harness.js';

/*
 * Link failures on a real FreeSWITCH 1.10: the event socket dropped under ser-ari (a TCP proxy destroys
 * the connection), with a call that goes on and one that ends while ser-ari cannot reach the switch;
 * ser-ari killed and started again: the calls it had claimed are tapped again.
 */

describe.skipIf(!FREESWITCH_PREFIX || !HAVE_CREMA_D)(`real FreeSWITCH: link drops and restarts (${NEEDS})`, () => {
  let fs: FreeSwitch;
  let proxy: TcpProxy;
  let ser: SerAri | undefined;

  beforeAll(async () => {
    fs = await FreeSwitch.start(FREESWITCH_PREFIX!, { rtp: [32400, 32599], eslPort: await freePort(), pbxSipPort: await freePort(), carrierSipPort: await freePort() });
    proxy = await TcpProxy.start(fs.eslPort);
    for (const [i, key] of ['da', 'db', 'ra', 'rb', 'ta', 'tb', 'tc', 'td'].entries()) writeVoice(fs, key, 'NEU', 3, i);
  }, 120_000);

  afterEach(async () => {
    try {
      await hangupAll(fs);
      await until(async () => (await claims(fs)).size === 0, 10_000, 'no ser_claim left');
    } finally {
      await ser?.stop('SIGKILL');
      ser = undefined;
    }
  });

  afterAll(async () => {
    await ser?.stop('SIGKILL');
    await proxy?.close();
    await fs?.dispose();
  });

  const tapped = (s: SerAri, id: string) => s.eventsOf(id, 'tap').filter((e) => e.state === 'tapped').length;
  const scored = (s: SerAri, id: string) => s.eventsOf(id, 'emotion').length;

  it('an event-socket drop is survived: the fork streams on, the link comes back, a call that ended meanwhile ends and leaves no claim', async () => {
    const s = (ser = await SerAri.start(fs, { eslPort: proxy.port }));
    const stays = await placeCall(fs, 'da');
    const leaves = await placeCall(fs, 'db');
    await until(() => tapped(s, stays.callId) > 0 && tapped(s, leaves.callId) > 0, 15_000, 'both tapped');
    await until(() => scored(s, stays.callId) >= 2, 15_000, 'scored');

    proxy.blocked = true;
    proxy.drop();
    const droppedAt = Date.now();
    await until(async () => !(await s.pbxConnected()), 5000, 'ser-ari sees the drop');
    // The fork is the channel's, not the event socket's: audio keeps coming while ser-ari is cut off.
    const during = scored(s, stays.callId);
    expect(await fs.api(`uuid_kill ${leaves.callerUuid} NORMAL_CLEARING`)).toMatch(/^\+OK/);
    await until(async () => !(await exists(fs, leaves.callId)), 5000, 'the leaving caller is gone');
    await until(() => scored(s, stays.callId) >= during + 3, 10_000, 'scored while the event socket is down');
    proxy.blocked = false;
    await until(() => s.pbxConnected(), 10_000, 'ser-ari reconnected');
    console.log(`event socket down ${Date.now() - droppedAt} ms; ${scored(s, stays.callId) - during} windows scored meanwhile`);

    // Reconciled: the call that ended while the link was down ended on ser-ari, its claim is gone.
    await until(() => s.eventsOf(leaves.callId, 'call.ended').length > 0, 10_000, 'the leaving call ended on ser-ari');
    await until(async () => !(await claims(fs)).has(leaves.callId), 10_000, 'its claim deleted');
    // The other is still tapped by its first fork (no re-fork), still claimed, its verdict still written.
    expect(tapped(s, stays.callId)).toBe(1);
    expect((await claims(fs)).get(stays.callId)).toBe('real-fs-test');
    expect(await bugs(fs, stays.callId)).toMatch(/audio_fork/);
    expect(await getvar(fs, stays.callId, 'SER_EMOTION')).toMatch(/^[A-Z]{3}$/);
    // Subscriptions redone: its hang-up is seen.
    expect(await fs.api(`uuid_kill ${stays.callerUuid} NORMAL_CLEARING`)).toMatch(/^\+OK/);
    await until(() => s.eventsOf(stays.callId, 'call.ended').length > 0, 10_000, 'hang-up seen after the reconnect');
    await until(async () => (await claims(fs)).size === 0, 10_000, 'no claim left');
  }, 90_000);

  it('a fork dropped mid-call (its WebSocket cut, no close frame) is forked again: the dead media bug stopped, a new fork started, scored again', async () => {
    const forkPort = await freePort();
    const forkProxy = await TcpProxy.start(forkPort);
    try {
      const s = (ser = await SerAri.start(fs, { forkPort, forkUrl: `ws://127.0.0.1:${forkProxy.port}` }));
      const fsEvents: string[] = [];
      const onEvent = (e: FsEvent) => {
        if (e.raw.subclass?.startsWith('mod_audio_fork::')) fsEvents.push(`${e.raw.subclass} ${e.raw.headers['Unique-ID']}`);
      };
      fs.esl!.on('event', onEvent);
      const c = await placeCall(fs, 'da');
      await until(() => tapped(s, c.callId) > 0, 15_000, 'tapped');
      await until(() => scored(s, c.callId) >= 2, 15_000, 'scored');
      forkProxy.drop();
      const t0 = Date.now();
      await until(() => s.eventsOf(c.callId, 'tap').some((e) => e.state === 'retrying'), 5000, 'tap lost (retrying)');
      await until(() => tapped(s, c.callId) >= 2, 10_000, 'tapped again');
      const before = scored(s, c.callId);
      await until(() => scored(s, c.callId) >= before + 2, 10_000, 'scored again');
      fs.esl!.off('event', onEvent);
      console.log(`re-forked ${Date.now() - t0} ms after the drop; tap events ${JSON.stringify(s.eventsOf(c.callId, 'tap').map((e) => e.state))}; mod_audio_fork events ${JSON.stringify(fsEvents.map((x) => x.split(' ')[0]))}`);
      // FreeSWITCH told of the drop (mod_audio_fork::disconnect), and one fork runs now.
      expect(fsEvents).toContain(`mod_audio_fork::disconnect ${c.callId}`);
      expect((await bugs(fs, c.callId)).match(/audio_fork/g)?.length).toBe(1);
      expect(s.eventsOf(c.callId, 'tap').some((e) => e.state === 'untapped')).toBe(false);
    } finally {
      await forkProxy.close();
    }
  }, 90_000);

  it('ser-ari killed (SIGKILL) and started again: the calls it had claimed are tapped again and scored; nothing is left after the hang-up', async () => {
    let s = (ser = await SerAri.start(fs));
    const a = await placeCall(fs, 'ra');
    const b = await placeCall(fs, 'rb');
    await until(() => tapped(s, a.callId) > 0 && tapped(s, b.callId) > 0, 15_000, 'both tapped');
    await s.stop('SIGKILL');
    // The forks died with ser-ari's WebSocket server; the calls and the claims stay, and so does each
    // dead fork's media bug (mod_audio_fork removes it only on stop or hang-up): a new start needs a stop first.
    expect(await exists(fs, a.callId)).toBe(true);
    expect([...(await claims(fs)).keys()].sort()).toEqual([a.callId, b.callId].sort());
    await until(() => fs.logFile().includes(`${a.callId} socket closed by far end`) || fs.logFile().includes('connection dropped from far end'), 5000, 'FreeSWITCH saw the fork drop').catch(() => undefined);
    console.log(`after the SIGKILL, uuid_buglist of a: ${(await bugs(fs, a.callId)).replace(/\s+/g, ' ')}`);

    const t0 = Date.now();
    s = ser = await SerAri.start(fs);
    // (Its tap events may precede our subscription to /events: read the call records.)
    await until(async () => (await s.isTapped(a.callId)) && (await s.isTapped(b.callId)), 15_000, 'both tapped again');
    await until(() => scored(s, a.callId) >= 2 && scored(s, b.callId) >= 2, 15_000, 'both scored again');
    console.log(`re-adopted and scored ${Date.now() - t0} ms after the start`);
    expect(s.logged(/re-tapping a call a previous run of this instance had claimed/)).toBe(2);
    expect(await bugs(fs, a.callId)).toMatch(/audio_fork/);
    // One fork per call (the dead one was stopped first).
    expect((await bugs(fs, a.callId)).match(/audio_fork/g)?.length).toBe(1);

    for (const c of [a, b]) await fs.api(`uuid_kill ${c.callerUuid} NORMAL_CLEARING`);
    await until(async () => (await channels(fs)).length === 0, 10_000, 'no channels');
    await until(async () => (await claims(fs)).size === 0, 10_000, 'no claims');
    expect(await s.calls()).toEqual([]);
  }, 90_000);

  it('FreeSWITCH shuts down (fsctl shutdown) and, later, crashes (kill -9) under ser-ari: the calls end, ser-ari reconnects to the new FreeSWITCH and taps the next caller', async () => {
    const s = (ser = await SerAri.start(fs));
    for (const [n, how] of [[1, 'shutdown'], [2, 'kill9']] as const) {
      const c = await placeCall(fs, n === 1 ? 'ra' : 'rb');
      await until(() => tapped(s, c.callId) > 0, 15_000, 'tapped');
      const t0 = Date.now();
      if (how === 'shutdown') {
        // A shutdown hangs every call up (SYSTEM_SHUTDOWN) before the event socket closes: ended at once.
        await fs.stop();
        await until(() => s.eventsOf(c.callId, 'call.ended').length > 0, 15_000, 'the call ended on ser-ari after the shutdown');
      } else {
        // A crash says nothing: the fork drops (1006) and the re-forks fail while FreeSWITCH is away; the
        // call can only be known gone once ser-ari reaches FreeSWITCH again (reconcile).
        await fs.kill9();
      }
      await until(async () => !(await s.pbxConnected()), 10_000, 'ser-ari sees FreeSWITCH gone');
      await fs.run();
      await until(() => s.pbxConnected(), 20_000, 'ser-ari reconnected');
      await until(() => s.eventsOf(c.callId, 'call.ended').length > 0, 10_000, `the call ended on ser-ari after ${how}`);
      const ended = s.eventsOf(c.callId, 'call.ended')[0]!;
      console.log(`${how}: call ended (${String(ended.reason)}) ${Date.parse(ended.ts as string) - t0} ms after; FreeSWITCH back and ser-ari reconnected ${Date.now() - t0} ms after; tap events ${JSON.stringify(s.eventsOf(c.callId, 'tap').map((e) => e.state))}`);
      expect(await s.calls()).toEqual([]);
      const next = await placeCall(fs, 'da');
      await until(() => tapped(s, next.callId) > 0, 15_000, 'the next caller tapped');
      await until(() => scored(s, next.callId) >= 1, 15_000, 'and scored');
      expect(await fs.api(`uuid_kill ${next.callerUuid}`)).toMatch(/^\+OK/);
      await until(async () => (await claims(fs)).size === 0, 10_000, 'no claims');
    }
  }, 120_000);

  it('two ser-ari instances on one FreeSWITCH: both get every hook, each call is tapped by exactly one of them (mod_hash claim), one fork per call', async () => {
    const a = (ser = await SerAri.start(fs, { instance: 'inst-a' }));
    const b = await SerAri.start(fs, { instance: 'inst-b' });
    try {
      const calls = await Promise.all(['ta', 'tb', 'tc', 'td'].map((k) => placeCall(fs, k)));
      await until(async () => (await Promise.all(calls.map(async (c) => (await a.isTapped(c.callId)) || (await b.isTapped(c.callId))))).every(Boolean), 15_000, 'every call tapped');
      const held = await claims(fs);
      for (const c of calls) {
        const byA = (await a.calls()).includes(c.callId);
        const byB = (await b.calls()).includes(c.callId);
        expect(byA !== byB, `${c.key} tapped by exactly one`).toBe(true);
        expect(held.get(c.callId)).toBe(byA ? 'inst-a' : 'inst-b');
        expect((await bugs(fs, c.callId)).match(/audio_fork/g)?.length).toBe(1);
      }
      console.log(`claims: ${JSON.stringify([...held.values()])}; "claimed by another" logged ${a.logged(/claimed by another ser-ari instance/) + b.logged(/claimed by another ser-ari instance/)} times`);
      expect(a.logged(/claimed by another ser-ari instance/) + b.logged(/claimed by another ser-ari instance/)).toBe(calls.length);
      // Each instance deletes its own claims when its calls end.
      await hangupAll(fs);
      await until(async () => (await claims(fs)).size === 0, 10_000, 'both instances dropped their claims');
    } finally {
      await b.stop('SIGKILL');
    }
  }, 60_000);
});

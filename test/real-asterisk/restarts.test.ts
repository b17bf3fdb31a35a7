import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CREMA_D } from '../helpers/paths.js';
import { Asterisk, ASTERISK_PREFIX, NEEDS } from './asterisk.js';
import {
  bridgeOf,
  bridges,
  channels,
  freePort,
  globalVar,
  hangupTestCalls,
  hearsMusic,
  holdingBridgeOf,
  noLeftovers,
  placeCall,
  SerAri,
  setGlobal,
  tapped,
  until,
  writeVoice,
} from './harness.js';

/*
 * Restarts on a real Asterisk 22: Asterisk's own (`core restart now`, kill -9 then start: issue 12 bug 3)
 * and ser-ari's (SIGKILL with a caller talking to the agent, one waiting and one monitored: bug 4;
 * SIGTERM then start: the callers tapped before are tapped again, item 3). Nothing of ser-ari's is left.
 */

describe.skipIf(!ASTERISK_PREFIX || !HAVE_CREMA_D)(`real Asterisk: restarts (${NEEDS})`, () => {
  let ast: Asterisk;
  let ser: SerAri | undefined;
  const agents = ['Local/agent@ser-test-agent'];

  beforeAll(async () => {
    ast = await Asterisk.start(ASTERISK_PREFIX!, await freePort(), { rtp: [21400, 21599] });
    for (const [i, key] of ['ra', 'rb', 'rc', 'ka', 'kb', 'km'].entries()) writeVoice(ast, key, 'NEU', 3, i);
  }, 60_000);

  afterEach(async () => {
    try {
      await hangupTestCalls(ast);
      await noLeftovers(ast, 10_000, 'kept');
      if (ser) expect(await ser.stop()).toBe(0);
    } finally {
      await ser?.stop('SIGKILL');
      ser = undefined;
    }
    await noLeftovers(ast, 5000);
  });

  afterAll(async () => {
    await ser?.stop('SIGKILL');
    await ast?.stop();
  });

  const startupTime = async () => String((await ast.ari('GET', '/asterisk/info')).body?.status?.startup_time ?? '');

  /** Waits for ser-ari's n-th reconnect and the first queue caller after it: admitted on hold with music, never sent to app_queue. */
  async function firstCallerAfterRestart(s: SerAri, reconnects: number, key: string): Promise<void> {
    await until(() => s.logged(/ARI websocket reconnected/) >= reconnects, 20_000, 'ser-ari reconnected');
    await setGlobal(ast, 'AGENT_UP', '0');
    const t0 = Date.now();
    const callId = await placeCall(ast, key, 'queue');
    await until(async () => (await holdingBridgeOf(ast, callId)) ?? (await globalVar(ast, `QUEUED_${key}`)), 15_000, `${key} admitted or refused`);
    const refused = await globalVar(ast, `QUEUED_${key}`);
    expect(refused, 'the caller fell through to app_queue').toBe('');
    console.log(`first caller after restart ${reconnects}: on hold in ${Date.now() - t0} ms, music RMS ${(await hearsMusic(ast, key)).toFixed(3)}`);
    await until(() => tapped(ast, callId), 10_000, 'tapped');
  }

  it('Asterisk restarts (core restart now, then kill -9 and start): reconciled, the first queue caller after each is admitted (bug 3)', async () => {
    const s = (ser = await SerAri.start(ast, ast.dir, { rtpPorts: '41200-41299', queueAgents: agents }));
    await setGlobal(ast, 'AGENT_UP', '0');
    const before = await placeCall(ast, 'ra', 'queue');
    await until(() => holdingBridgeOf(ast, before), 15_000, 'caller on hold');
    await until(() => tapped(ast, before), 10_000, 'tapped');

    const started = await startupTime();
    const t0 = Date.now();
    await ast.cli('core restart now');
    await until(async () => (await startupTime().catch(() => '')) !== started && (await startupTime().catch(() => '')) !== '', 30_000, 'Asterisk back');
    await ast.waitReady();
    console.log(`core restart now: ARI back in ${Date.now() - t0} ms`);
    await firstCallerAfterRestart(s, 1, 'rb');
    await until(async () => !(await s.calls()).includes(before), 10_000, 'the call Asterisk dropped is no longer tracked');

    await ast.kill9();
    await ast.run();
    await firstCallerAfterRestart(s, 2, 'rc');
    expect((await s.calls()).filter((id) => id.startsWith('rt-'))).toEqual([(await channels(ast)).find((c) => c.id.startsWith('rt-rc-') && !c.id.endsWith('-phone'))!.id]);
    expect(s.logged(/Bridge not found/)).toBe(0);
  }, 150_000);

  it('ser-ari SIGKILL with a caller talking to the agent, one waiting, one monitored: the next run takes over, nothing left (bug 4)', async () => {
    const first = (ser = await SerAri.start(ast, ast.dir, { rtpPorts: '41300-41349', queueAgents: agents }));
    await setGlobal(ast, 'AGENT_UP', '1');
    const talking = await placeCall(ast, 'ka', 'queue');
    const conversation = await until(async () => {
      const b = await bridgeOf(ast, talking);
      return b?.id.startsWith('ser-qcall-') && b.channels.length === 2 ? b : null;
    }, 20_000, 'caller bridged with the agent');
    const waiting = await placeCall(ast, 'kb', 'queue');
    const oldHold = await until(() => holdingBridgeOf(ast, waiting), 15_000, 'second caller waiting');
    const monitored = await placeCall(ast, 'km', 'monitor');
    await until(async () => (await tapped(ast, talking)) && (await tapped(ast, waiting)) && (await tapped(ast, monitored)), 15_000, 'all three tapped');

    await first.stop('SIGKILL');
    const t0 = Date.now();
    const second = (ser = await SerAri.start(ast, ast.dir, { rtpPorts: '41350-41399', queueAgents: agents }));
    const dump = () => console.log(second.log.slice(0, 40).join('\n'));
    await until(async () => (await tapped(ast, talking)) && (await tapped(ast, waiting)) && (await tapped(ast, monitored)), 20_000, 'all three tapped again').catch((e) => {
      dump();
      throw e;
    });
    if (!(await bridgeOf(ast, talking))?.id.startsWith('ser-qcall-')) dump();
    await until(async () => !(await bridges(ast)).some((b) => b.id === oldHold.id), 10_000, 'the old holding bridge removed');
    console.log(`SIGKILL: all three tapped again ${Date.now() - t0} ms after the restart began`);
    // The conversation goes on: same bridge, same two channels.
    expect((await bridgeOf(ast, talking))?.id).toBe(conversation.id);
    expect((await bridgeOf(ast, talking))!.channels.sort()).toEqual([...conversation.channels].sort());
    const hold = await until(() => holdingBridgeOf(ast, waiting), 10_000, 'the waiting caller in the new holding bridge');
    expect(hold.id).not.toBe(oldHold.id);
    expect(await hearsMusic(ast, 'kb')).toBeGreaterThan(0.1);
    expect(await globalVar(ast, 'QUEUED_ka')).toBe(''); // never pulled out into app_queue

    // The adopted conversation ends as any other: the agent hangs up, the caller goes on in the dialplan.
    await setGlobal(ast, 'AGENT_UP', '0');
    await ast.ari('DELETE', `/channels/${conversation.channels.find((id) => id !== talking)}`);
    await until(() => globalVar(ast, 'QUEUED_ka'), 10_000, 'caller back in the dialplan');
    expect(await globalVar(ast, 'QUEUED_ka')).toBe('ser,COMPLETED');
    await until(async () => !(await bridges(ast)).some((b) => b.id === conversation.id), 10_000, 'conversation bridge removed');

    expect(await second.stop('SIGTERM')).toBe(0);
    ser = undefined;
    await noLeftovers(ast);
    expect(await globalVar(ast, 'QUEUED_kb')).toBe('app_queue,SHUTDOWN'); // back in the dialplan, not hung up
  }, 150_000);

  it('SIGTERM then start: the callers tapped before (queue and monitor) are tapped again (item 3)', async () => {
    const first = (ser = await SerAri.start(ast, ast.dir, { rtpPorts: '41400-41449', queueAgents: agents }));
    await setGlobal(ast, 'AGENT_UP', '0');
    const queued = await placeCall(ast, 'ra', 'queue');
    const monitored = await placeCall(ast, 'rb', 'monitor');
    await until(async () => (await tapped(ast, queued)) && (await tapped(ast, monitored)), 15_000, 'both tapped');
    expect(await first.stop('SIGTERM')).toBe(0);
    await noLeftovers(ast, 3000);
    await until(() => globalVar(ast, 'QUEUED_ra'), 5000, 'queue caller back in the dialplan');

    const t0 = Date.now();
    ser = await SerAri.start(ast, ast.dir, { rtpPorts: '41450-41499', queueAgents: agents });
    await until(async () => (await tapped(ast, queued)) && (await tapped(ast, monitored)), 20_000, 'both tapped again');
    console.log(`SIGTERM then start: both tapped again ${Date.now() - t0} ms after the start`);
  }, 120_000);
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CREMA_D } from '../helpers/paths.js';
import { Asterisk, ASTERISK_PREFIX, NEEDS } from './asterisk.js';
import {
  bridgeOf,
  bridges,
  freePort,
  globalVar,
  hangupTestCalls,
  hearsMusic,
  hearsNow,
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
 * ser-ari's built-in queue on a real Asterisk 22: several callers on hold hear the music, also one who
 * arrives after the holding bridge emptied (issue 12 bug 2: Asterisk stops a holding bridge's music for
 * good when its last member leaves), then the agent answers and the first caller is bridged to it.
 */

describe.skipIf(!ASTERISK_PREFIX || !HAVE_CREMA_D)(`real Asterisk: the built-in queue (${NEEDS})`, () => {
  let ast: Asterisk;
  let ser: SerAri;

  beforeAll(async () => {
    ast = await Asterisk.start(ASTERISK_PREFIX!, await freePort(), { rtp: [21200, 21399] });
    for (const [i, key] of ['qa', 'qb', 'qc'].entries()) writeVoice(ast, key, 'NEU', 3, i);
    ser = await SerAri.start(ast, ast.dir, { rtpPorts: '41100-41199', queueAgents: ['Local/agent@ser-test-agent'] });
  }, 90_000);

  afterEach(async () => {
    await hangupTestCalls(ast);
    await noLeftovers(ast, 10_000, 'kept');
  });

  afterAll(async () => {
    await ser?.stop();
    await ast?.stop();
  });

  it('callers on hold hear music, also one arriving after the holding bridge emptied (bug 2); the agent takes the first', async () => {
    await setGlobal(ast, 'AGENT_UP', '0'); // the agent rings and does not answer yet
    const a = await placeCall(ast, 'qa', 'queue');
    const hold = await until(() => holdingBridgeOf(ast, a), 15_000, 'first caller on hold');
    expect(hold.bridge_type).toBe('holding');
    console.log(`first caller on hold: RMS ${(await hearsMusic(ast, 'qa')).toFixed(3)}`);
    expect(await tapped(ast, a)).toBe(true);

    // The only caller hangs up: the holding bridge empties (Asterisk's MOH announcer leaves with it).
    await ast.ari('DELETE', `/channels/${a}`);
    await until(async () => (await bridges(ast)).some((b) => b.id === hold.id && b.channels.length === 0), 10_000, 'holding bridge empty');

    const b = await placeCall(ast, 'qb', 'queue');
    await until(() => holdingBridgeOf(ast, b), 15_000, 'second caller on hold');
    const t0 = Date.now();
    const levelB = await hearsMusic(ast, 'qb');
    console.log(`caller after the bridge emptied: RMS ${levelB.toFixed(3)} (${Date.now() - t0} ms to hear it)`);
    const c = await placeCall(ast, 'qc', 'queue');
    await until(() => holdingBridgeOf(ast, c), 15_000, 'third caller on hold');
    expect(await hearsMusic(ast, 'qc')).toBeGreaterThan(0.1);
    expect(await hearsNow(ast, 'qb')).toBeGreaterThan(0.1);

    // The agent answers: the caller who waited longest is bridged to it; the other keeps the music.
    await setGlobal(ast, 'AGENT_UP', '1');
    const call = await until(async () => {
      const br = await bridgeOf(ast, b);
      return br?.id.startsWith('ser-qcall-') && br.channels.length === 2 ? br : null;
    }, 20_000, 'second caller bridged with the agent');
    expect(call.channels.some((id) => id.startsWith('ser-qagent-'))).toBe(true);
    expect(await holdingBridgeOf(ast, c)).toBeDefined();
    expect(await hearsNow(ast, 'qb')).toBeLessThan(0.05); // no more music: talking to a silent agent
    expect(await hearsNow(ast, 'qc')).toBeGreaterThan(0.1);

    // The agent hangs up: the caller goes back to the dialplan as served.
    await ast.ari('DELETE', `/channels/${call.channels.find((id) => id.startsWith('ser-qagent-'))}`);
    await until(() => globalVar(ast, 'QUEUED_qb'), 10_000, 'second caller back in the dialplan');
    expect(await globalVar(ast, 'QUEUED_qb')).toBe('ser,COMPLETED');
  }, 120_000);

  it('ser-ari stopped (SIGTERM) leaves nothing of its own on Asterisk', async () => {
    expect(await ser.stop()).toBe(0);
    await noLeftovers(ast, 5000);
  });
});

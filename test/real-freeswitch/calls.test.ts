import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FsEvent } from '../../src/freeswitch/events.js';
import { HAVE_CREMA_D, REPO } from '../helpers/paths.js';
import { FreeSwitch, FREESWITCH_PREFIX, NEEDS } from './freeswitch.js';
import { bugs, channels, claims, exists, findAudio, freePort, getvar, hangupAll, heard, loadWav, placeCall, SerAri, until, writeVoice, type TestCall } from './harness.js';

/*
 * Monitored callers on a real FreeSWITCH 1.10 with mod_audio_fork: a SIP caller (carrier profile)
 * plays CREMA-D test-actor speech to the pbx profile, whose dialplan fires the ser::monitor hook; ser-ari
 * claims and forks the call, scores it, and writes the verdict on the channel; the sample's ser-decide
 * reads it; the warning is played before a hang-up; a missing prompt refuses the hang-up.
 */

describe.skipIf(!FREESWITCH_PREFIX || !HAVE_CREMA_D)(`real FreeSWITCH: monitored calls (${NEEDS})`, () => {
  let fs: FreeSwitch;
  let ser: SerAri;
  const fsEvents: { at: number; e: FsEvent }[] = [];

  beforeAll(async () => {
    fs = await FreeSwitch.start(FREESWITCH_PREFIX!, { rtp: [32000, 32199], eslPort: await freePort(), pbxSipPort: await freePort(), carrierSipPort: await freePort() });
    fs.esl!.on('event', (e) => fsEvents.push({ at: Date.now(), e }));
    writeVoice(fs, 'angry', 'ANG', 4, 0, 'HI');
    writeVoice(fs, 'calm', 'NEU', 4, 1);
    writeVoice(fs, 'calmb', 'NEU', 4, 2);
    writeVoice(fs, 'calmc', 'NEU', 4, 3);
    writeVoice(fs, 'gone', 'NEU', 2, 4);
    writeVoice(fs, 'probe', 'NEU', 1, 5);
    // A rule engine (the console's forced actions go through it), no rule of its own.
    ser = await SerAri.start(fs, { rules: 'safety:\n  minCallAgeSeconds: 0\nrules: []\n' });
  }, 120_000);

  afterEach(async () => {
    await hangupAll(fs);
    // Nothing of ser-ari's left on the switch: no claim (every call ended).
    await until(async () => (await claims(fs)).size === 0, 10_000, 'no ser_claim left').catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await fs.api('hash_dump db ser_claim')}`);
    });
  });

  afterAll(async () => {
    await ser?.stop();
    await fs?.dispose();
  });

  const classified = (id: string) => ser.eventsOf(id, 'emotion').filter((e) => e.probs && e.speech);

  it('taps an angry and a calm caller over uuid_audio_fork, scores them about every second, and the verdict is on the real channel (uuid_getvar) and read by the sample ser-decide', async () => {
    const angry = await placeCall(fs, 'angry');
    const calm = await placeCall(fs, 'calm');
    // The fork really runs on the pbx leg: mod_audio_fork's media bug, and ser-ari's tap event.
    await until(() => ser.eventsOf(angry.callId, 'tap').some((e) => e.state === 'tapped') && ser.eventsOf(calm.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'both callers tapped');
    expect(await bugs(fs, angry.callId)).toMatch(/audio_fork/);
    expect((await claims(fs)).get(angry.callId)).toBe('real-fs-test');

    await until(() => classified(angry.callId).length >= 8 && classified(calm.callId).length >= 8, 40_000, '8 s of speech from each caller').catch((e) => {
      const types = (id: string) => JSON.stringify(ser.events.filter((x) => x.callId === id).reduce<Record<string, number>>((m, x) => ({ ...m, [x.type]: (m[x.type] ?? 0) + 1 }), {}));
      console.log(`events: angry ${types(angry.callId)}, calm ${types(calm.callId)}\n${ser.log.filter((l) => /warn|error/i.test(l)).slice(-15).join('\n')}`);
      throw e;
    });
    // About every second: windows 1 s apart in the tapped audio, and arriving about 1 s apart.
    const all = ser.eventsOf(angry.callId, 'emotion');
    const steps = all.slice(1).map((e, i) => (e.end as number) - (all[i]!.end as number));
    const arrivals = all.slice(1).map((e, i) => Date.parse(e.ts as string) - Date.parse(all[i]!.ts as string));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`angry caller: ${all.length} windows, step median ${median(steps).toFixed(2)} s, arrival median ${median(arrivals)} ms`);
    expect(median(steps)).toBeCloseTo(1, 1);
    expect(median(arrivals)).toBeGreaterThan(700);
    expect(median(arrivals)).toBeLessThan(1300);

    const meanP = (id: string, label: string) => {
      const es = classified(id);
      return es.reduce((s, e) => s + (e.probs as Record<string, number>)[label]!, 0) / es.length;
    };
    const angryShare = (id: string) => classified(id).filter((e) => e.dominant === 'ANG').length / classified(id).length;
    console.log(
      `angry: ${classified(angry.callId).length} windows, ANG dominant in ${(100 * angryShare(angry.callId)).toFixed(0)}%, mean P(ANG) ${meanP(angry.callId, 'ANG').toFixed(2)}; ` +
        `calm: ${classified(calm.callId).length} windows, ANG dominant in ${(100 * angryShare(calm.callId)).toFixed(0)}%, mean P(NEU) ${meanP(calm.callId, 'NEU').toFixed(2)} P(ANG) ${meanP(calm.callId, 'ANG').toFixed(2)}`,
    );
    expect(angryShare(angry.callId)).toBeGreaterThanOrEqual(0.3);
    expect(meanP(angry.callId, 'ANG')).toBeGreaterThan(0.3);
    expect(angryShare(calm.callId)).toBe(0);
    expect(meanP(calm.callId, 'ANG')).toBeLessThan(0.1);

    // The verdict variables on the real channels, as a dialplan step would read them.
    const vars = async (c: TestCall) => Object.fromEntries(await Promise.all(['SER_EMOTION', 'SER_NEGATIVITY', 'SER_ESCALATE', 'QUEUE_PRIO', 'cc_base_score'].map(async (n) => [n, await getvar(fs, c.callId, n)] as const)));
    const angryVars = await until(async () => {
      const v = await vars(angry);
      return v['SER_ESCALATE'] === '1' ? v : null;
    }, 20_000, 'SER_ESCALATE=1 on the angry caller\'s channel').catch(async (e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(await vars(angry))}`);
    });
    const calmVars = await vars(calm);
    console.log(`uuid_getvar: angry ${JSON.stringify(angryVars)}, calm ${JSON.stringify(calmVars)}`);
    expect(['ANG', 'DIS']).toContain(angryVars['SER_EMOTION']);
    expect(Number(angryVars['SER_NEGATIVITY'])).toBeGreaterThan(0.5);
    expect(Number(angryVars['QUEUE_PRIO'])).toBeGreaterThan(0);
    expect(calmVars['SER_ESCALATE']).toBe('0');
    expect(calmVars['SER_EMOTION']).not.toBe('ANG');
    expect(Number(calmVars['SER_NEGATIVITY'])).toBeLessThan(Number(angryVars['SER_NEGATIVITY']));

    // The sample's decision point (dialplan/freeswitch/ser-ari.xml ser-decide, a new hunt) reads them.
    for (const c of [angry, calm]) expect(await fs.api(`uuid_transfer ${c.callId} decide-${c.key} XML pbx`)).toMatch(/^\+OK/);
    const decided = async (key: string) => until(async () => {
      const v = (await fs.api(`hash select/ser_test/decided_${key}`)).trim();
      return v && !v.startsWith('-ERR') ? v : null;
    }, 10_000, `${key} through ser-decide`);
    const angryDecided = (await decided('angry')).split(',');
    const calmDecided = (await decided('calm')).split(',');
    console.log(`ser-decide: angry ${angryDecided.join(',')}, calm ${calmDecided.join(',')}`);
    expect(angryDecided.slice(0, 2)).toEqual(['escalated', '1']);
    expect(calmDecided.slice(0, 2)).toEqual(['normal', '0']);
    // The fork survives the transfer: still tapped, still scored.
    const before = ser.eventsOf(angry.callId, 'emotion').length;
    await until(() => ser.eventsOf(angry.callId, 'emotion').length >= before + 2, 5000, 'still scored after the transfer');
  }, 120_000);

  it('warns then hangs up: the prompt really plays (PLAYBACK_STOP done, heard by the caller), and the hang-up comes after it and the grace', async () => {
    const call = await placeCall(fs, 'calmb');
    await until(() => ser.eventsOf(call.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
    const file = join(fs.serSounds, 'ser-abuse-warning.wav');
    const forcedAt = Date.now();
    const res = await ser.force(call.callId, { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-abuse-warning', graceSeconds: 2 } });
    expect(res.status).toBe(200);
    await until(async () => !(await exists(fs, call.callId)), 30_000, 'caller hung up');
    const of = (name: string) => fsEvents.filter(({ e }) => e.raw.name === name && e.raw.headers['Unique-ID'] === call.callId);
    const stop = of('PLAYBACK_STOP').find(({ e }) => e.raw.headers['Playback-File-Path'] === file);
    const hangup = of('CHANNEL_HANGUP')[0] ?? of('CHANNEL_HANGUP_COMPLETE')[0];
    expect(stop, 'PLAYBACK_STOP of the warning').toBeDefined();
    expect(stop!.e.raw.headers['Playback-Status']).toBe('done');
    expect(hangup).toBeDefined();
    const warning = loadWav(join(REPO, 'dialplan', 'sounds', 'ser-abuse-warning.wav'));
    console.log(`PLAYBACK_STOP ${stop!.at - forcedAt} ms after the force (prompt ${(warning.length / 8000).toFixed(2)} s), hang-up ${hangup!.at - stop!.at} ms after PLAYBACK_STOP; cause ${hangup!.e.raw.headers['Hangup-Cause']}`);
    expect(stop!.at - forcedAt).toBeGreaterThan((warning.length / 8000) * 1000 - 300);
    expect(hangup!.at - stop!.at).toBeGreaterThan(1500);
    expect(ser.eventsOf(call.callId, 'action').map((e) => e.outcome)).toContain('executed');
    // The caller heard it (its own recording of what it received over RTP).
    await until(async () => !(await exists(fs, call.callerUuid)), 5000, 'caller leg gone');
    const rec = heard(fs, 'calmb');
    const found = findAudio(rec, warning);
    console.log(`warning found at ${found.offsetSeconds.toFixed(2)} s of ${(rec.length / 8000).toFixed(2)} s heard, correlation ${found.correlation.toFixed(3)}`);
    expect(found.correlation).toBeGreaterThan(0.7);
  }, 60_000);

  it('a missing warning prompt: the hang-up fails its precondition and the caller stays up, still tapped', async () => {
    const call = await placeCall(fs, 'calmc');
    await until(() => ser.eventsOf(call.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
    const res = await ser.force(call.callId, { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-no-such-prompt', graceSeconds: 1 } });
    console.log(`forced hang-up with a missing prompt: ${res.status} ${JSON.stringify(res.body)}`);
    await until(() => ser.eventsOf(call.callId, 'action').some((e) => e.outcome === 'failed' || e.outcome === 'executed'), 15_000, 'the action settled');
    const last = ser.eventsOf(call.callId, 'action').at(-1)!;
    console.log(`action: ${last.outcome} ${String(last.reason)}`);
    const of = (name: string) => fsEvents.filter(({ e }) => e.raw.name === name && e.raw.headers['Unique-ID'] === call.callId).map(({ e }) => e.raw.headers);
    console.log(`FreeSWITCH: PLAYBACK_START ${of('PLAYBACK_START').length}, PLAYBACK_STOP ${JSON.stringify(of('PLAYBACK_STOP').map((h) => h['Playback-Status']))}, EXECUTE_COMPLETE ${JSON.stringify(of('CHANNEL_EXECUTE_COMPLETE').map((h) => `${h['Application']}:${h['Application-Response']}`))}`);
    expect(last.outcome).toBe('failed');
    expect(String(last.reason)).toMatch(/precondition failed: the warning was not confirmed played/);
    expect(res.body.ok).toBe(false);
    await new Promise((r) => setTimeout(r, 2000)); // past the grace it would have had
    expect(await exists(fs, call.callId)).toBe(true);
    expect(await bugs(fs, call.callId)).toMatch(/audio_fork/);
  }, 60_000);

  it('mod_audio_fork itself (what the adapter and the simulator rely on): a fork the far end drops keeps its media bug, start is refused until stop', async () => {
    const call = await placeCall(fs, 'probe', 'plain'); // no hook: ser-ari never touches it
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const conns: WebSocket[] = [];
    const protocols: string[] = [];
    wss.on('connection', (ws, req) => {
      conns.push(ws);
      protocols.push(String(req.headers['sec-websocket-protocol']));
    });
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/probe`;
    const fork = (rest: string) => fs.api(`uuid_audio_fork ${call.callId} ${rest}`);
    const seen = (what: string) => fsEvents.filter(({ e }) => e.raw.subclass === `mod_audio_fork::${what}` && e.raw.headers['Unique-ID'] === call.callId).length;
    try {
      expect(await fork(`start ${url} mono 8k {"probe":1}`)).toBe('+OK Success\n');
      await until(() => conns.length === 1 && seen('connect') === 1, 5000, 'fork connected');
      expect(protocols[0]).toBe('audio.drachtio.org');
      conns[0]!.terminate(); // the far end goes, no close frame
      await until(() => seen('disconnect') === 1, 5000, 'mod_audio_fork::disconnect');
      expect(await bugs(fs, call.callId)).toMatch(/audio_fork/); // still attached
      expect(await fork(`start ${url} mono 8k`)).toBe('-ERR Operation Failed\n');
      expect(await fork('send_text {"x":1}')).toBe('+OK Success\n'); // accepted, and goes nowhere
      expect(await fork('stop')).toBe('+OK Success\n');
      expect(await bugs(fs, call.callId)).not.toMatch(/audio_fork/);
      expect(await fork('stop')).toBe('-ERR Operation Failed\n');
      expect(await fork(`start ${url} mono 8k`)).toBe('+OK Success\n');
      await until(() => conns.length === 2, 5000, 'a new fork connected');
      expect(await fork('stop')).toBe('+OK Success\n');
      // A fork that cannot connect keeps its media bug too.
      const closedPort = await freePort();
      expect(await fork(`start ws://127.0.0.1:${closedPort}/x mono 8k`)).toBe('+OK Success\n');
      await until(() => seen('connect_failed') === 1, 5000, 'mod_audio_fork::connect_failed');
      expect(await fork(`start ${url} mono 8k`)).toBe('-ERR Operation Failed\n');
      expect(await fork('stop')).toBe('+OK Success\n');
    } finally {
      wss.close();
    }
  }, 60_000);

  it('the caller hanging up leaves nothing behind: no channel, no fork, no claim, the call ended on ser-ari', async () => {
    const call = await placeCall(fs, 'gone');
    await until(() => ser.eventsOf(call.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
    expect((await claims(fs)).has(call.callId)).toBe(true);
    await until(() => classified(call.callId).length >= 2, 20_000, 'scored');
    expect(await fs.api(`uuid_kill ${call.callerUuid} NORMAL_CLEARING`)).toMatch(/^\+OK/);
    await until(() => ser.eventsOf(call.callId, 'call.ended').length > 0, 10_000, 'call.ended on ser-ari');
    await until(async () => (await channels(fs)).length === 0, 10_000, 'no channels');
    await until(async () => !(await claims(fs)).has(call.callId), 10_000, 'claim deleted');
    expect(await ser.calls()).not.toContain(call.callId);
    expect(await ser.metrics()).toMatch(/^ser_fork_connections(\{[^}]*\})? 0$/m);
  }, 60_000);
});

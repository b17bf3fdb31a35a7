import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { HAVE_CREMA_D } from '../helpers/paths.js';
import { FreeSwitch, FREESWITCH_PREFIX, NEEDS } from './freeswitch.js';
import { claims, dial, exists, freePort, getvar, hangupAll, placeCall, SerAri, until, writeVoice } from './harness.js';

/*
 * The sample dialplan as a whole on a real FreeSWITCH 1.10 (dialplan/freeswitch/ser-ari.xml): a caller
 * dials `support`, is tapped by the hook, hears the welcome, passes ser-decide and waits in
 * mod_callcenter's queue `support`; ser-ari follows it into the queue and raises its priority there.
 */

interface Member {
  uuid: string;
  session: string;
  baseScore: number;
  state: string;
}

describe.skipIf(!FREESWITCH_PREFIX || !HAVE_CREMA_D)(`real FreeSWITCH: the sample dialplan and mod_callcenter (${NEEDS})`, () => {
  let fs: FreeSwitch;
  let ser: SerAri;
  const ccEvents: Record<string, string>[] = [];

  beforeAll(async () => {
    fs = await FreeSwitch.start(FREESWITCH_PREFIX!, { rtp: [32800, 32999], eslPort: await freePort(), pbxSipPort: await freePort(), carrierSipPort: await freePort() });
    writeVoice(fs, 'qa', 'NEU', 3, 0);
    writeVoice(fs, 'qb', 'NEU', 3, 1);
    writeVoice(fs, 'qc', 'NEU', 3, 2);
    writeVoice(fs, 'qd', 'NEU', 3, 3);
    // The sample's welcome prompt (ivr/ivr-welcome.wav under the sounds dir): 3 s of a quiet tone.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(fs.dir, 'sounds', 'ivr'), { recursive: true });
    writeFileSync(join(fs.dir, 'sounds', 'ivr', 'ivr-welcome.wav'), encodeWav([Float32Array.from({ length: 24000 }, (_, i) => 0.05 * Math.sin((2 * Math.PI * 600 * i) / 8000))], 8000, 'pcm16'));
    fs.esl!.on('event', (e) => {
      if (e.raw.subclass === 'callcenter::info') ccEvents.push(e.raw.headers);
    });
    ser = await SerAri.start(fs, { rules: 'safety:\n  minCallAgeSeconds: 0\nrules: []\n', extraYaml: 'targets:\n  dialplan: ["pbx,fifo-support"]' });
  }, 120_000);

  afterEach(async () => {
    await hangupAll(fs);
    await until(async () => (await claims(fs)).size === 0, 10_000, 'no ser_claim left');
  });

  afterAll(async () => {
    await ser?.stop();
    await fs?.dispose();
  });

  const members = async (): Promise<Member[]> => {
    const lines = (await fs.api('callcenter_config queue list members support')).trim().split('\n');
    const head = lines[0]!.split('|');
    return lines
      .slice(1)
      .filter((l) => l.includes('|'))
      .map((l) => {
        const row = Object.fromEntries(l.split('|').map((v, i) => [head[i], v]));
        return { uuid: row['uuid']!, session: row['session_uuid']!, baseScore: Number(row['base_score']), state: row['state']! };
      });
  };

  it('a caller through the sample: tapped at the hook, welcomed, through ser-decide into mod_callcenter (phase queued); a priority re-queues it with cc_base_score, still tapped', async () => {
    const c = await dial(fs, 'qa', 'support');
    await until(() => ser.eventsOf(c.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
    const phase = await until(() => ser.eventsOf(c.callId, 'call.phase').find((e) => e.phase === 'queued'), 20_000, 'phase queued').catch((e: Error) => {
      throw new Error(`${e.message}: ${fs.logFile().split('\n').filter((l) => /Dialplan|EXECUTE|callcenter/.test(l)).slice(-20).join('\n')}`);
    });
    expect(phase.queue).toBe('support');
    const waiting = await until(async () => (await members()).find((m) => m.session === c.callId && m.state === 'Waiting'), 5000, 'member waiting');
    // mod_callcenter took the cc_base_score ser-ari had written on the channel when the caller entered
    // (the member-queue-start event carries the channel's variables at that moment).
    const start = ccEvents.find((h) => h['CC-Action'] === 'member-queue-start' && h['CC-Member-Session-UUID'] === c.callId);
    expect(start).toBeDefined();
    console.log(`in queue: member ${waiting.uuid} base_score ${waiting.baseScore}; at entry QUEUE_PRIO ${start!['variable_QUEUE_PRIO']} cc_base_score ${start!['variable_cc_base_score']}; now QUEUE_PRIO ${await getvar(fs, c.callId, 'QUEUE_PRIO')}`);
    expect(start!['variable_cc_base_score']).toBeDefined();
    expect(waiting.baseScore).toBe(Number(start!['variable_cc_base_score']));

    const res = await ser.force(c.callId, { kind: 'priority', set: 5 });
    console.log(`forced priority 5: ${res.status} ${JSON.stringify(res.body)}`);
    expect(res.status).toBe(200);
    const requeued = await until(async () => (await members()).find((m) => m.session === c.callId && m.state === 'Waiting' && m.baseScore === 5 * 3600), 10_000, 're-queued with base_score 18000').catch(async (e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(await members())}`);
    });
    expect(requeued.uuid).not.toBe(waiting.uuid);
    expect((await members()).find((m) => m.uuid === waiting.uuid)?.state).toBe('Abandoned');
    expect(await getvar(fs, c.callId, 'QUEUE_PRIO')).toBe('5');
    // Still the same call on ser-ari, still tapped and scored.
    const before = ser.eventsOf(c.callId, 'emotion').length;
    await until(() => ser.eventsOf(c.callId, 'emotion').length >= before + 2, 10_000, 'still scored');
    expect(ser.eventsOf(c.callId, 'call.ended')).toEqual([]);
  }, 90_000);

  it('mod_fifo pauses the fork of a waiting caller: ser-ari says untapped (not heard) while it waits, tapped again and scored once a consumer takes it (phase agent)', async () => {
    const c = await placeCall(fs, 'qb');
    await until(() => ser.eventsOf(c.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
    await until(() => ser.eventsOf(c.callId, 'emotion').length >= 2, 10_000, 'scored');
    expect((await ser.force(c.callId, { kind: 'priority', set: 7 })).status).toBe(200);
    expect(await getvar(fs, c.callId, 'QUEUE_PRIO')).toBe('7');
    const res = await ser.force(c.callId, { kind: 'transfer', target: { context: 'pbx', extension: 'fifo-support' } });
    expect(res.status).toBe(200);
    const phase = await until(() => ser.eventsOf(c.callId, 'call.phase').find((e) => e.phase === 'queued'), 10_000, 'phase queued');
    expect(phase.queue).toBe('support');
    // The sample's new hunt read QUEUE_PRIO 7: fifo_priority 3.
    const list = await fs.api('fifo list support');
    const caller = new RegExp(`<caller[^>]*uuid="${c.callId}"[^>]*>`).exec(list)?.[0] ?? '';
    console.log(`fifo list: ${caller}`);
    expect(caller).toMatch(/slot="3"/);
    // mod_fifo pauses the channel's media bugs while it waits: no audio, and ser-ari says so.
    const paused = await until(() => ser.eventsOf(c.callId, 'tap').find((e) => e.state === 'untapped'), 5000, 'untapped while in mod_fifo');
    console.log(`tap while waiting: ${paused.reason}`);
    expect(String(paused.reason)).toMatch(/mod_fifo/);
    expect(await ser.isTapped(c.callId)).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    const during = ser.eventsOf(c.callId, 'emotion').length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(ser.eventsOf(c.callId, 'emotion').length - during).toBe(0); // nothing heard
    // A consumer takes the caller: mod_fifo resumes the media bugs, the same fork streams again.
    expect(await fs.api(`originate sofia/carrier/fifo-agent@127.0.0.1:${fs.opts.pbxSipPort} &park()`)).toMatch(/^\+OK/);
    await until(() => ser.eventsOf(c.callId, 'call.phase').some((e) => e.phase === 'agent'), 10_000, 'phase agent');
    await until(() => ser.isTapped(c.callId), 5000, 'tapped again');
    const resumed = ser.eventsOf(c.callId, 'emotion').length;
    await until(() => ser.eventsOf(c.callId, 'emotion').length >= resumed + 2, 10_000, 'scored again with the agent');
    console.log(`tap events ${JSON.stringify(ser.eventsOf(c.callId, 'tap').map((e) => e.state))}`);
    expect(ser.eventsOf(c.callId, 'tap').filter((e) => e.state === 'retrying')).toEqual([]); // the same fork, never re-forked
  }, 60_000);

  it('a caller who leaves mod_fifo without a consumer (transferred out) is heard again', async () => {
    const c = await placeCall(fs, 'qc');
    await until(() => ser.eventsOf(c.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
    expect(await fs.api(`uuid_transfer ${c.callId} fifo-support XML pbx`)).toMatch(/^\+OK/);
    await until(() => ser.eventsOf(c.callId, 'tap').some((e) => e.state === 'untapped'), 5000, 'untapped while in mod_fifo');
    expect(await fs.api(`uuid_transfer ${c.callId} queue-support XML pbx`)).toMatch(/^\+OK/);
    await until(() => ser.isTapped(c.callId), 5000, 'tapped again after leaving mod_fifo');
    const n = ser.eventsOf(c.callId, 'emotion').length;
    await until(() => ser.eventsOf(c.callId, 'emotion').length >= n + 2, 10_000, 'scored again in mod_callcenter');
  }, 60_000);

  it('a warning to a caller waiting in mod_callcenter (hold music playing) plays to the end before the hang-up', async () => {
    const fsEvents: { at: number; h: Record<string, string> }[] = [];
    const onEvent = (e: { raw: { name: string; headers: Record<string, string> } }) => {
      if (e.raw.name === 'PLAYBACK_STOP' || e.raw.name === 'PLAYBACK_START' || e.raw.name === 'CHANNEL_HANGUP') fsEvents.push({ at: Date.now(), h: e.raw.headers });
    };
    fs.esl!.on('event', onEvent);
    try {
      const c = await placeCall(fs, 'qd');
      await until(() => ser.eventsOf(c.callId, 'tap').some((e) => e.state === 'tapped'), 15_000, 'tapped');
      expect(await fs.api(`uuid_transfer ${c.callId} queue-support XML pbx`)).toMatch(/^\+OK/);
      await until(() => ser.eventsOf(c.callId, 'call.phase').some((e) => e.phase === 'queued'), 10_000, 'queued');
      await until(() => fsEvents.some(({ h }) => h['Unique-ID'] === c.callId && h['Event-Name'] === 'PLAYBACK_START'), 5000, 'hold music playing');
      const forcedAt = Date.now();
      const res = await ser.force(c.callId, { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-abuse-warning', graceSeconds: 1 } });
      expect(res.status).toBe(200);
      await until(async () => !(await exists(fs, c.callId)), 30_000, 'hung up');
      const mine = fsEvents.filter(({ h }) => h['Unique-ID'] === c.callId);
      const stop = mine.find(({ h }) => h['Event-Name'] === 'PLAYBACK_STOP' && h['Playback-File-Path']?.endsWith('ser-abuse-warning.wav'));
      const hangup = mine.find(({ h }) => h['Event-Name'] === 'CHANNEL_HANGUP');
      console.log(`in mod_callcenter: ${mine.map(({ at, h }) => `${at - forcedAt} ms ${h['Event-Name']} ${h['Playback-File-Path'] ?? ''} ${h['Playback-Status'] ?? ''}`).join('; ')}`);
      expect(stop?.h['Playback-Status']).toBe('done');
      expect(stop!.at - forcedAt).toBeGreaterThan(8000); // the 8.77 s prompt, to its end
      expect(hangup!.at - stop!.at).toBeGreaterThan(800);
      expect(ser.eventsOf(c.callId, 'action').map((e) => e.outcome)).toContain('executed');
    } finally {
      fs.esl!.off('event', onEvent as never);
    }
  }, 60_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { channelOf, connect, isType, recordedEvents, refusal, type AriEvent, type Connected } from './helpers.js';

/**
 * The `;2` half of a Local channel, as Asterisk 22.10.1 showed it in recordings 01, 05, 06 and 12:
 * POST /channels to Local/<exten>@<context> makes two channels, `;1` (enters Stasis) and `;2` (runs
 * the dialplan); an app that originated with app= is subscribed to both; either half's end ends both.
 */

let sim: AriSimulator | undefined;
let client: Connected | undefined;

afterEach(async () => {
  client?.close();
  await sim?.stop();
  client = undefined;
  sim = undefined;
});

async function start(): Promise<Connected> {
  sim = await AriSimulator.start();
  client = await connect(sim);
  return client;
}

interface ChannelSnapshot {
  id: string;
  name: string;
  state: string;
  dialplan: { context: string; exten: string; priority: number; app_name: string; app_data: string };
}

/** The events of Local channels in order: which half, what happened, where its dialplan was, and the fields. */
function pairEvents(events: AriEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const ch = channelOf(e) as ChannelSnapshot | undefined;
    if (!ch?.name.startsWith('Local/')) continue;
    const half = ch.name.endsWith(';2') ? ';2' : ';1';
    const detail = [e['variable'], e['cause'], e['soft'] ? 'soft' : undefined, e['dialstatus'], e['dialplan_app']].filter((v) => v !== undefined && v !== '');
    const d = ch.dialplan;
    const where = `${ch.state} ${d.context},${d.exten},${d.priority} ${d.app_name}(${d.app_data})`;
    out.push(`${half} ${e.type} ${detail.join(' ')} | ${where} | ${Object.keys(e).sort().join(',')}`);
  }
  return out;
}

describe('the ;2 half of a Local channel', () => {
  it('01: has its own id, runs the dialplan and gets events; its Hangup() ends the ;1 in Stasis', async () => {
    const { ari, waitFor, events } = await start();
    const caller = await ari.channels.originate({
      endpoint: 'Local/play@caller',
      formats: 'ulaw',
      app: 'ser',
      appArgs: 'caller',
      callerId: '"SER Test" <5551234>',
      timeout: 30,
    });
    expect(caller.name).toMatch(/^Local\/play@caller-[0-9a-f]{8};1$/);
    const listed = (await ari.channels.list()) as ChannelSnapshot[];
    expect(listed.map((c) => c.name)).toEqual([caller.name, caller.name.replace(/;1$/, ';2')]);
    const half = listed[1]!;
    expect(half.id).not.toBe(caller.id);
    expect(half.id).toMatch(/^\d+\.\d+$/);
    expect(half.dialplan).toMatchObject({ context: 'caller', exten: 'play' });

    await waitFor(isType('StasisStart', caller.id));
    expect((await ari.applications.get({ applicationName: 'ser' })).channel_ids).toEqual([caller.id, half.id]);
    await waitFor((e) => e.type === 'ChannelDialplan' && e['dialplan_app'] === 'Playback');
    sim!.hangup(caller.id); // the prompt has played: Hangup() on the ;2 half
    await waitFor(isType('ChannelDestroyed', caller.id));
    expect(await ari.channels.list()).toEqual([]);

    expect(pairEvents(events)).toEqual(pairEvents(recordedEvents('01-originate-app-snoop-in-externalmedia-ulaw')));
  });

  it('06: DELETE of the ;1 with reason_code 17 ends the ;2 in Answer() with the same cause', async () => {
    const { ari, waitFor, events } = await start();
    const caller = await ari.channels.originate({ endpoint: 'Local/silent@caller', formats: 'ulaw', app: 'ser', appArgs: 'caller' });
    await waitFor(isType('StasisStart', caller.id));
    await ari.channels.setChannelVar({ channelId: caller.id, variable: 'QUEUE_PRIO', value: '3', report_events: true });
    await ari.channels.hangup({ channelId: caller.id, reason_code: '17' });
    const destroyed = await waitFor((e) => e.type === 'ChannelDestroyed' && (channelOf(e)?.name.endsWith(';2') ?? false));
    expect(destroyed).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    expect(await ari.channels.list()).toEqual([]);

    expect(pairEvents(events)).toEqual(pairEvents(recordedEvents('06-errors-and-reads')));
  });

  it('05: /channels/create does not subscribe the app to the ;2 half; an agent extension answers after NoOp', async () => {
    const { ari, waitFor, events } = await start();
    const created = await ari.channels.create({ endpoint: 'Local/agent2@agents', formats: 'ulaw', app: 'ser', appArgs: 'agent' });
    await waitFor(isType('StasisStart', created.id));
    await ari.channels.dial({ channelId: created.id, timeout: 10 });
    await waitFor((e) => e.type === 'Dial' && e['dialstatus'] === 'ANSWER');
    expect(sim!.channels().map((c) => [c.name.slice(-2), c.kind, c.dialplanApp])).toEqual([
      [';1', 'originated', null],
      [';2', 'local', 'Answer'],
    ]);
    await ari.channels.hangup({ channelId: created.id });
    await waitFor(isType('ChannelDestroyed', created.id));
    expect(events.some((e) => channelOf(e)?.name.endsWith(';2'))).toBe(false);
    expect(sim!.channels()).toEqual([]);

    const agent = await ari.channels.originate({ endpoint: 'Local/agent1@agents', app: 'ser', appArgs: 'agent2' });
    await waitFor(isType('StasisStart', agent.id));
    await waitFor((e) => e.type === 'ChannelDialplan' && e['dialplan_app'] === 'Echo');
    const recorded = pairEvents(recordedEvents('05-bridge-agent-moh-ring')).filter((s) => s.startsWith(';2') && s.includes('agents,agent1'));
    const got = pairEvents(events).filter((s) => s.startsWith(';2'));
    expect(got).toEqual(recorded.slice(0, got.length));
    expect(got.at(-1)).toContain('Echo()');
  });

  it('a preset channelId names the ;2 half <id>;2 (otherChannelId overrides); either half ends both', async () => {
    const { ari, waitFor } = await start();
    await ari.channels.originate({ endpoint: 'Local/agent@ser-test-agent', channelId: 'ser-qagent-1', app: 'ser', appArgs: 'ser-own,queue-agent' });
    await waitFor(isType('StasisStart', 'ser-qagent-1'));
    const two = (await ari.channels.get({ channelId: 'ser-qagent-1;2' })) as ChannelSnapshot;
    expect(two.name).toMatch(/^Local\/agent@ser-test-agent-[0-9a-f]{8};2$/);
    expect(two.dialplan).toMatchObject({ context: 'ser-test-agent', exten: 'agent' });
    expect(((await ari.channels.list()) as ChannelSnapshot[]).map((c) => c.id)).toEqual(['ser-qagent-1', 'ser-qagent-1;2']);
    expect(await refusal(ari.channels.originate({ endpoint: 'Local/x@y', channelId: 'other', otherChannelId: 'ser-qagent-1;2', app: 'ser' }))).toEqual({
      message: 'Channel with given unique ID already exists',
    });

    await ari.channels.hangup({ channelId: 'ser-qagent-1;2' });
    const request = await waitFor((e) => isType('ChannelHangupRequest', 'ser-qagent-1')(e));
    expect(request).toMatchObject({ cause: 16 });
    expect(request['soft']).toBeUndefined();
    await waitFor(isType('ChannelDestroyed', 'ser-qagent-1'));
    await waitFor(isType('ChannelDestroyed', 'ser-qagent-1;2'));
    expect(await ari.channels.list()).toEqual([]);

    await ari.channels.originate({ endpoint: 'Local/agent@ser-test-agent', channelId: 'a', otherChannelId: 'a-far', app: 'ser' });
    await waitFor(isType('StasisStart', 'a'));
    expect(sim!.channel('a-far')).toMatchObject({ kind: 'local', localPeer: 'a' });
    await ari.channels.hangup({ channelId: 'a', reason: 'normal' });
    await waitFor(isType('ChannelDestroyed', 'a-far'));
    expect(sim!.channels()).toEqual([]);
  });

  it('endpoint:Local/... is no event source (chan_local has no endpoints): 422, earlier sources stay subscribed', async () => {
    const { ari } = await start();
    sim!.addAgent({ endpoint: 'PJSIP/1001', behaviour: 'answer' });
    sim!.addAgent({ endpoint: 'Local/agent@ser-test-agent', behaviour: 'answer' });
    expect(((await ari.endpoints.list()) as Array<{ technology: string }>).map((e) => e.technology)).toEqual(['PJSIP']);
    const missing = { message: 'Event source does not exist' };
    expect(await refusal(ari.applications.subscribe({ applicationName: 'ser', eventSource: 'endpoint:Local/agent@ser-test-agent' }))).toEqual(missing);
    expect(await refusal(ari.applications.subscribe({ applicationName: 'ser', eventSource: ['endpoint:PJSIP/1001', 'endpoint:Local/agent@ser-test-agent'] }))).toEqual(missing);
    expect((await ari.applications.get({ applicationName: 'ser' })).endpoint_ids).toEqual(['PJSIP/1001']);
  });
});

import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EVENT_MODELS, RESOURCES } from '../../src/sim/ari/api-docs.js';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { ASTERISK } from '../helpers/paths.js';
import { connect, isType, recordedEvents, recording, rolesObject, type Connected } from './helpers.js';

let sim: AriSimulator;

beforeEach(async () => {
  sim = await AriSimulator.start();
});

afterEach(async () => {
  await sim.stop();
});

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

async function rest(method: string, path: string, query: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const url = new URL(`${sim.url}/ari${path}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await fetch(url, { method, headers: basic(sim.user, sim.password) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

/** Opens the events websocket; resolves with the refusal's status and body, or 101. */
function openEvents(query: string): Promise<{ status: number; body: string; ws?: WebSocket }> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(`${sim.url.replace('http', 'ws')}/ari/events${query}`);
    ws.on('open', () => resolvePromise({ status: 101, body: '', ws }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

describe('api-docs', () => {
  const real = (name: string) =>
    JSON.parse(readFileSync(resolve(ASTERISK, 'api-docs', `${name}.json`), 'utf8')) as {
      apis: { path: string; operations: { httpMethod: string; nickname: string; responseClass: string; parameters?: { name: string; paramType: string }[] }[] }[];
      models: Record<string, { properties: Record<string, { type: string }> }>;
    };

  it('declares only operations that exist identically in Asterisk 22 (path, method, nickname, parameters)', () => {
    let checked = 0;
    for (const [name, resource] of Object.entries(RESOURCES)) {
      const theirs = real(name);
      for (const api of resource.apis) {
        for (const op of api.operations) {
          const match = theirs.apis.find((a) => a.path === api.path)?.operations.find((o) => o.httpMethod === op.httpMethod && o.nickname === op.nickname);
          expect(match, `${op.httpMethod} ${api.path} ${op.nickname}`).toBeDefined();
          const norm = (ps: { name: string; paramType: string }[]) => ps.map((p) => `${p.name}:${p.paramType}`).sort();
          expect(norm(op.parameters), `${op.nickname} parameters`).toEqual(norm(match!.parameters ?? []));
          expect(op.responseClass).toBe(match!.responseClass);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('event models name the same properties and types as Asterisk for the resource-valued fields', () => {
    const theirs = real('events').models;
    for (const [type, props] of Object.entries(EVENT_MODELS)) {
      expect(theirs[type], type).toBeDefined();
      for (const [prop, { type: dataType }] of Object.entries(props)) expect(theirs[type]!.properties[prop]?.type, `${type}.${prop}`).toBe(dataType);
    }
  });

  it('every event type seen in the recordings the simulator models is declared (ari-client crashes on an unknown type)', () => {
    const modelled = ['01-originate-app-snoop-in-externalmedia-ulaw', '02-dialplan-stasis-snoop-both-slin16-hangup', '05-bridge-agent-moh-ring'];
    const seen = new Set(modelled.flatMap((n) => recordedEvents(n).filter((e) => !String((e['channel'] as { name?: string } | undefined)?.name).endsWith(';2')).map((e) => e.type)));
    seen.delete('ChannelCallerId');
    seen.delete('ChannelConnectedLine');
    for (const type of seen) expect(EVENT_MODELS[type], type).toBeDefined();
  });

  it('serves basePath from the Host header and refuses without credentials', async () => {
    // fetch cannot set Host; node:http can.
    const doc = await new Promise<string>((resolvePromise, reject) => {
      const req = get(`${sim.url}/ari/api-docs/channels.json`, { headers: { ...basic('ser', 'ser'), host: 'pbx.example:8088' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolvePromise(body));
      });
      req.on('error', reject);
    });
    expect((JSON.parse(doc) as { basePath: string }).basePath).toBe('http://pbx.example:8088/ari');
    const anonymous = await fetch(`${sim.url}/ari/api-docs/resources.json`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${sim.url}/ari/channels`, { headers: basic('ser', 'nope') });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ message: 'Authentication required' });
  });
});

describe('06: errors and reads as recorded', () => {
  let client: Connected | null = null;
  afterEach(() => client?.close());

  it('websocket: 401 JSON on a bad api_key, 400 HTML without app, 101 otherwise', async () => {
    const recorded = recording('06-errors-and-reads').filter((r) => r.dir === 'rest' && r.path === '/ari/events');
    const bad = await openEvents('?app=ser&api_key=ser:wrong');
    expect(bad.status).toBe(recorded[0]!.status);
    expect(JSON.parse(bad.body)).toEqual(recorded[0]!.body);
    const noApp = await openEvents('?api_key=ser:ser');
    expect(noApp.status).toBe(recorded[1]!.status);
    expect(noApp.body).toBe(recorded[1]!.body);
    const good = await openEvents('?app=ser&api_key=ser:ser');
    expect(good.status).toBe(101);
    good.ws!.close();
  });

  it('REST refusals have the recorded status and body', async () => {
    client = await connect(sim);
    const recorded = recording('06-errors-and-reads').filter((r) => r.dir === 'rest' && r.status !== null && r.status >= 400 && r.path !== '/ari/events');
    // The caller the recorded snoop/variable/hangup errors were made on.
    const caller = await client.ari.channels.originate({ endpoint: 'Local/silent@caller', formats: 'ulaw', app: 'ser', appArgs: 'caller' });
    await client.waitFor(isType('StasisStart', caller.id));
    const recordedCaller = recording('06-errors-and-reads').find((r) => r.dir === 'rest' && r.query?.['endpoint'] === 'Local/silent@caller')!;
    const callerId = (recordedCaller.body as { id: string }).id;
    let compared = 0;
    for (const r of recorded) {
      if (r.path === '/ari/sounds/custom/prompt') continue; // sounds are not simulated
      const path = r.path!.slice('/ari'.length).replace(callerId, caller.id);
      const got = await rest(r.method!, path, r.query ?? {});
      expect({ call: `${r.method} ${r.path}`, ...got }).toEqual({ call: `${r.method} ${r.path}`, status: r.status, body: r.body });
      compared++;
    }
    expect(compared).toBeGreaterThan(15);
  });

  it('reads, report_events channelvars and reason_code hang-ups give the recorded events', async () => {
    client = await connect(sim);
    const { ari, waitFor } = client;
    expect((await ari.asterisk.getInfo()).system.version).toBe('22.10.1');
    expect((await ari.asterisk.ping()).ping).toBe('pong');
    expect(await ari.asterisk.getModule({ moduleName: 'chan_rtp.so' })).toMatchObject({ name: 'chan_rtp.so', status: 'Running' });
    const em = await ari.channels.externalMedia({ app: 'ser', external_host: '127.0.0.1:40050', format: 'ulaw', direction: 'in' });
    const caller = await ari.channels.originate({ endpoint: 'Local/silent@caller', formats: 'ulaw', app: 'ser', appArgs: 'caller' });
    await waitFor(isType('StasisStart', caller.id));
    await ari.channels.setChannelVar({ channelId: caller.id, variable: 'QUEUE_PRIO', value: '3', report_events: true });
    await ari.channels.hangup({ channelId: caller.id, reason_code: '17' });
    const destroyed = await waitFor(isType('ChannelDestroyed', caller.id));
    expect(destroyed).toMatchObject({ cause: 17, cause_txt: 'User busy', channel: { channelvars: { QUEUE_PRIO: '3' } } });
    await ari.channels.hangup({ channelId: em.id });
    await waitFor(isType('ChannelDestroyed', em.id));
    expect(rolesObject(client.events)).toEqual(rolesObject(recordedEvents('06-errors-and-reads')));
  });
});

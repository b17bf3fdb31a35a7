import { Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { FsCallControl } from '../../src/freeswitch/call-control.js';
import { EslClient } from '../../src/freeswitch/esl-client.js';
import { CUSTOM_SUBCLASSES, EVENT_NAMES, type FsEvent } from '../../src/freeswitch/events.js';
import { ForkIngress, type ForkClosed } from '../../src/freeswitch/fork-ingress.js';
import { observeForkIngress } from '../../src/freeswitch/fork-metrics.js';
import { encodeL16LE } from '../../src/freeswitch/l16.js';
import { FsMonitor } from '../../src/freeswitch/monitor.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { FsSimulator } from '../../src/sim/freeswitch/index.js';

const SOUNDS = '/usr/freeswitch/share/freeswitch/sounds/ser';

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A clip as Int16 (what L16 carries exactly) and as floats. */
function clip(samples: number, seed = 7): { ints: Int16Array; floats: Float32Array } {
  const rand = mulberry32(seed);
  const ints = new Int16Array(samples);
  for (let i = 0; i < samples; i++) ints[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 8000) + 2000 * (rand() - 0.5));
  return { ints, floats: Float32Array.from(ints, (s) => s / 32768) };
}

interface World {
  sim: FsSimulator;
  client: EslClient;
  ingress: ForkIngress;
  monitor: FsMonitor;
  control: FsCallControl;
  received: Map<string, number[]>;
  events: FsEvent[];
  closed: ForkClosed[];
}

describe('FreeSWITCH simulator, ESL client, fork ingress, monitor and call control on real sockets', () => {
  const teardown: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const t of teardown.splice(0).reverse()) await t();
  });

  async function world(simOpts: Parameters<typeof FsSimulator.start>[0] = {}): Promise<World> {
    const sim = await FsSimulator.start(simOpts);
    teardown.push(() => sim.stop());
    const ingress = new ForkIngress({ host: '127.0.0.1', port: 0 });
    await ingress.start();
    teardown.push(() => ingress.close());
    const client = new EslClient({ host: '127.0.0.1', port: sim.port, password: 'ClueCon', subscribe: { events: EVENT_NAMES, custom: CUSTOM_SUBCLASSES }, requestTimeoutMs: 2000, backoff: { initialMs: 50, maxMs: 200 } });
    const events: FsEvent[] = [];
    client.on('event', (e) => events.push(e));
    await client.start();
    teardown.push(() => client.close());
    const received = new Map<string, number[]>();
    const monitor = new FsMonitor({
      client,
      ingress,
      sinkFor: ({ callId }) => {
        const into: number[] = [];
        received.set(callId, into);
        return { onAudio: (_f, n, pcm16) => into.push(...pcm16.subarray(0, n)) };
      },
    });
    teardown.push(async () => monitor.close());
    const closed: ForkClosed[] = [];
    ingress.on('closed', (c) => closed.push(c));
    const control = new FsCallControl(client, { soundsDir: SOUNDS, context: 'pbx' });
    return { sim, client, ingress, monitor, control, received, events, closed };
  }

  it('a call end to end: hook → our fork → ingress → the sink gets exactly the clip, then close 1000 and CHANNEL_HANGUP_COMPLETE', async () => {
    const w = await world();
    const { ints, floats } = clip(8000);
    const ended: [string, string][] = [];
    w.monitor.on('ended', (id, cause) => ended.push([id, cause]));
    const uuid = w.sim.placeCall({ audio: floats, hangupAfterAudio: true });
    await until(() => ended.length === 1, 5000, 'call ended');
    expect(ended).toEqual([[uuid, 'NORMAL_CLEARING']]);
    const got = w.received.get(uuid)!;
    // The clip, sample for sample; the fork may send a frame or two of silence before the hang-up.
    expect(got.length).toBeGreaterThanOrEqual(ints.length);
    expect(got.length - ints.length).toBeLessThanOrEqual(3 * 160);
    expect(Int16Array.from(got.slice(0, ints.length))).toEqual(ints);
    expect(got.slice(ints.length).every((s) => s === 0)).toBe(true);
    await until(() => w.closed.length === 1);
    expect(w.closed[0]).toMatchObject({ callId: uuid, code: 1000, reason: '' });
    // The sim's fork spoke as mod_audio_fork does: metadata first (else the ingress would have refused it).
    expect(w.ingress.stats).toMatchObject({ accepted: 1, open: 0, rejected: { unknownToken: 0, noMetadata: 0, badMetadata: 0 } });
    // Recorded order on one connection: the hook after CHANNEL_ANSWER, the fork's connect after the hook.
    const mine = w.events.filter((e) => 'uuid' in e && e.uuid === uuid).map((e) => (e.type === 'other' ? e.raw.name : e.type === 'mod_audio_fork' ? `fork::${e.what}` : e.type));
    expect(mine.slice(0, 3)).toEqual(['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'ser::monitor']);
    expect(mine).toContain('fork::connect');
    expect(mine.at(-1)).toBe('CHANNEL_HANGUP_COMPLETE');
    const hc = w.events.find((e) => e.type === 'CHANNEL_HANGUP_COMPLETE')!;
    expect(hc.raw.headers['Hangup-Cause']).toBe('NORMAL_CLEARING');
    expect(w.ingress.expected).toEqual([]);
  });

  it('call control: variables visible on the channel, priority as QUEUE_PRIO and a mod_callcenter re-queue, transfer, kill with cause', async () => {
    const w = await world();
    const uuid = w.sim.placeCall({ audio: clip(80_000).floats });
    await until(() => w.ingress.isConnected(uuid), 5000, 'tapped');
    expect(await w.control.setVariables(uuid, { SER_EMOTION: 'ANG', SER_NEGATIVITY: '0.81', SER_ESCALATE: 'true', QUEUE_PRIO: '7' })).toEqual({ ok: true });
    const vars = w.sim.channel(uuid)!.variables;
    expect([vars.get('SER_EMOTION'), vars.get('SER_NEGATIVITY'), vars.get('SER_ESCALATE'), vars.get('QUEUE_PRIO')]).toEqual(['ANG', '0.81', 'true', '7']);
    expect(await w.control.setVariables(uuid, { NOTE: 'a;b c' })).toEqual({ ok: true });
    expect(vars.get('NOTE')).toBe('a;b c');

    // Into the queue, then a priority raise: a re-queue with a new base score, the old entry Abandoned (04).
    expect(await w.control.transfer(uuid, { queue: 'support' })).toEqual({ ok: true });
    expect(w.sim.channel(uuid)!.transfers).toEqual(['queue-support XML pbx']);
    const other = w.sim.placeCall({ number: '15550000002', hook: false });
    await w.client.api(`uuid_transfer ${other} 'set:cc_base_score=3600,callcenter:support' inline`);
    expect(await w.control.setPriority(uuid, { set: 2 })).toEqual({ ok: true });
    const table = (await w.client.api('callcenter_config queue list members support')).trim().split('\n');
    expect(table[1]!.split('|')).toMatchObject({ 3: uuid, 11: '7200', 15: 'Waiting' });
    expect(table.filter((r) => r.endsWith('|Abandoned|0'))).toHaveLength(1);
    expect(vars.get('QUEUE_PRIO')).toBe('2');

    expect(await w.control.transfer(uuid, { agent: 'sofia/pbx/agent-1001@127.0.0.1:5081' })).toEqual({ ok: true });
    expect(w.sim.channel(uuid)!.transfers.at(-1)).toBe("'bridge:sofia/pbx/agent-1001@127.0.0.1:5081' inline");
    expect((await w.control.transfer(uuid, { agent: 'x, evil' })).ok).toBe(false);
    // The fork survives the transfer (03).
    expect(w.ingress.isConnected(uuid)).toBe(true);

    const hangups: [string, string][] = [];
    w.sim.on('hangup', (id, cause) => hangups.push([id, cause]));
    expect(await w.control.hangup(uuid, 'rejected')).toEqual({ ok: true });
    await until(() => hangups.length === 1);
    expect(hangups).toEqual([[uuid, 'CALL_REJECTED']]);
    await until(() => w.closed.some((c) => c.callId === uuid));
    expect(w.closed.find((c) => c.callId === uuid)!.code).toBe(1000);
    // Gone already: done, as a 404 is on ARI. A bad uuid never reaches FreeSWITCH.
    expect(await w.control.hangup(uuid, 'normal')).toEqual({ ok: true });
    expect(await w.control.setVariables(uuid, { A: '1' })).toMatchObject({ ok: false, status: 404 });
    expect(await w.control.hangup('x; hupall', 'normal')).toMatchObject({ ok: false, status: 404 });
  });

  it('play resolves ok only on PLAYBACK_STOP done; a missing file or a hang-up mid-play is a failure', async () => {
    const w = await world({ playbackMs: 150, sounds: (p) => p === `${SOUNDS}/ser-warning.wav` || p === `${SOUNDS}/long.wav` });
    const uuid = w.sim.placeCall({ audio: clip(80_000).floats });
    await until(() => w.ingress.isConnected(uuid));
    const t0 = performance.now();
    expect(await w.control.play(uuid, 'sound:ser-warning')).toEqual({ ok: true });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(w.sim.channel(uuid)!.broadcasts).toEqual([{ file: `${SOUNDS}/ser-warning.wav`, status: 'done' }]);
    const missing = await w.control.play(uuid, 'sound:no-such-warning');
    expect(missing.ok).toBe(false);
    expect(missing.error).toContain('could not play sound:no-such-warning (FILE NOT FOUND');
    const playing = w.control.play(uuid, 'sound:long');
    await until(() => w.sim.channel(uuid)?.broadcasts.length === 3);
    w.sim.hangup(uuid);
    const cut = await playing;
    expect(cut.ok).toBe(false);
    expect(cut.error).toMatch(/Playback-Status break|the call ended/);
    expect((await w.control.play('00000000-0000-0000-0000-000000000000', 'sound:ser-warning')).status).toBe(404);
  });

  it('ESL drop: the fork outlives it, the client reconnects with backoff and re-subscribes, pending commands fail, later replies go to the right caller', async () => {
    const w = await world();
    const uuid = w.sim.placeCall({ audio: clip(200_000).floats });
    await until(() => w.ingress.isConnected(uuid));
    const downs: string[] = [];
    const ups: number[] = [];
    w.client.on('down', (r) => downs.push(r));
    w.client.on('up', () => ups.push(performance.now()));
    const framesBefore = w.ingress.callStats(uuid)!.frames;
    // A command in flight when the socket dies (the drachtio-modesl probe's case).
    const inflight = w.client.api(`uuid_getvar ${uuid} nothing`);
    w.sim.dropEsl();
    await expect(inflight).rejects.toMatchObject({ code: 'ESL_DISCONNECTED' });
    await until(() => ups.length === 1, 5000, 'reconnected');
    expect(downs).toHaveLength(1);
    expect(w.ingress.callStats(uuid)!.frames).toBeGreaterThan(framesBefore); // kept streaming
    expect(await w.client.api(`uuid_getvar ${uuid} uuid`)).toBe(uuid);
    expect(w.monitor.calls).toEqual([uuid]); // reconciled: still live
    // Re-subscribed: the next call's hook arrives on the new connection.
    const second = w.sim.placeCall({ audio: clip(8000).floats });
    await until(() => w.ingress.isConnected(second), 5000, 'second call tapped');
  });

  it('a fork the far end drops keeps its media bug, as the real mod_audio_fork does: disconnect event, start refused and send_text swallowed until stop (real FreeSWITCH, test/real-freeswitch)', async () => {
    const w = await world();
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    teardown.push(() => new Promise<void>((r) => wss.close(() => r())));
    const conns: WebSocket[] = [];
    wss.on('connection', (ws) => conns.push(ws));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/probe`;
    const uuid = w.sim.placeCall({ hook: false, audio: clip(200_000).floats });
    const fork = (rest: string) => w.client.api(`uuid_audio_fork ${uuid} ${rest}`);
    const seen = (what: string) => w.events.filter((e) => e.type === 'mod_audio_fork' && e.what === what && e.uuid === uuid).length;
    expect(await fork(`start ${url} mono 8k {"probe":1}`)).toBe('+OK Success\n');
    await until(() => conns.length === 1 && seen('connect') === 1, 5000, 'fork connected');
    conns[0]!.terminate(); // the far end goes, no close frame
    await until(() => seen('disconnect') === 1, 5000, 'mod_audio_fork::disconnect');
    expect(w.events.find((e) => e.type === 'mod_audio_fork' && e.what === 'disconnect')!.raw.body ?? '').toBe('');
    expect(await fork(`start ${url} mono 8k`)).toBe('-ERR Operation Failed\n');
    expect(await fork('send_text {"x":1}')).toBe('+OK Success\n');
    expect(await fork('stop')).toBe('+OK Success\n');
    expect(await fork('stop')).toBe('-ERR Operation Failed\n');
    expect(await fork(`start ${url} mono 8k`)).toBe('+OK Success\n');
    await until(() => conns.length === 2, 5000, 'a new fork connected');
    expect(await fork('stop')).toBe('+OK Success\n');
    // A fork that cannot connect keeps its media bug too.
    const dead = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => dead.once('listening', r));
    const closedPort = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    expect(await fork(`start ws://127.0.0.1:${closedPort}/x mono 8k`)).toBe('+OK Success\n');
    await until(() => seen('connect_failed') === 1, 5000, 'mod_audio_fork::connect_failed');
    expect(await fork(`start ${url} mono 8k`)).toBe('-ERR Operation Failed\n');
    expect(await fork('stop')).toBe('+OK Success\n');
    expect(await fork(`start ${url} mono 8k`)).toBe('+OK Success\n');
  });

  it('a call that ends while the socket is down is ended by the reconcile; a restart leaves no calls and forks see 1000', async () => {
    const w = await world();
    const ended: string[] = [];
    w.monitor.on('ended', (id) => ended.push(id));
    const uuid = w.sim.placeCall({ audio: clip(200_000).floats });
    await until(() => w.ingress.isConnected(uuid));
    const ups: number[] = [];
    w.client.on('up', () => ups.push(1));
    w.sim.dropEsl();
    w.sim.hangup(uuid); // its CHANNEL_HANGUP_COMPLETE goes nowhere
    await until(() => ups.length === 1);
    await until(() => ended.length === 1);
    expect(ended).toEqual([uuid]);
    expect(w.ingress.expected).toEqual([]);

    const b = w.sim.placeCall({ audio: clip(200_000).floats });
    await until(() => w.ingress.isConnected(b));
    const notices: string[] = [];
    w.client.on('disconnect-notice', (n) => notices.push(n));
    await w.sim.shutdown();
    await until(() => w.closed.some((c) => c.callId === b));
    expect(w.closed.find((c) => c.callId === b)!.code).toBe(1000);
    await until(() => notices.length === 1);
    expect(notices).toEqual(['The system is being shut down.\n']);
    await w.sim.restart();
    await until(() => ups.length === 2, 5000, 'reconnected after restart');
    expect(await w.client.api('show channels as json')).toBe('{"row_count": 0}\n');
  });

  it('a request without a reply times out (ESL_TIMEOUT); a reply still missing after a second deadline drops and re-establishes the connection', async () => {
    const w = await world();
    const ups: number[] = [];
    w.client.on('up', () => ups.push(1));
    // A second client with a tiny deadline against a server that swallows one command.
    const net = await import('node:net');
    const server = net.createServer((s) => {
      s.write('Content-Type: auth/request\n\n');
      let buf = '';
      s.on('data', (d) => {
        buf += d;
        for (let i; (i = buf.indexOf('\n\n')) >= 0; ) {
          const cmd = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (cmd.startsWith('auth')) s.write('Content-Type: command/reply\nReply-Text: +OK accepted\n\n');
          else if (cmd === 'api swallow') continue;
          else s.write(`Content-Type: api/response\nContent-Length: ${cmd.length}\n\n${cmd}`);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    teardown.push(() => new Promise((r) => server.close(() => r())));
    const c = new EslClient({ host: '127.0.0.1', port: (server.address() as { port: number }).port, password: 'x', requestTimeoutMs: 100, backoff: { initialMs: 20, maxMs: 50 } });
    teardown.push(() => c.close());
    const cUps: number[] = [];
    c.on('up', () => cUps.push(1));
    await c.start();
    await expect(c.api('swallow')).rejects.toMatchObject({ code: 'ESL_TIMEOUT' });
    await until(() => cUps.length === 2, 3000, 'reconnected after the stall');
    expect(await c.api('echo')).toBe('api echo');
    expect(c.stats.timeouts).toBe(1);
    // And a command with a line break is refused before it could inject a second command.
    await expect(c.api('status\n\napi hupall')).rejects.toMatchObject({ code: 'ESL_REQUEST_FAILED' });
    expect(ups).toEqual([]);
  });
});

describe('fork ingress hardening (BAD CALLS)', () => {
  let ingress: ForkIngress;
  afterEach(async () => ingress?.close());

  function open(url: string, protocol = 'audio.drachtio.org'): Promise<{ ws: WebSocket; status?: number; code?: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, protocol);
      ws.on('error', () => undefined);
      ws.on('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode! }));
      ws.on('open', () => resolve({ ws }));
    });
  }
  const closeCode = (ws: WebSocket): Promise<number> => new Promise((r) => ws.on('close', (code) => r(code)));

  it('refuses bad paths (404), unknown tokens (403), a second connection for a call (409), beyond the cap (503); counts each', async () => {
    ingress = new ForkIngress({ host: '127.0.0.1', port: 0, maxConnections: 2 });
    await ingress.start();
    const a = ingress.expect('call-a', { onAudio: () => undefined });
    const b = ingress.expect('call-b', { onAudio: () => undefined });
    const c = ingress.expect('call-c', { onAudio: () => undefined });
    expect(a.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/fork\/[A-Za-z0-9_-]{32}$/);
    expect(a.metadata).toBe('{"callId":"call-a"}');
    expect((await open(`${ingress.baseUrl}/other`)).status).toBe(404);
    expect((await open(`${ingress.baseUrl}/fork/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(403);
    const first = await open(a.url);
    first.ws.send(a.metadata);
    await until(() => ingress.isConnected('call-a'));
    expect((await open(a.url)).status).toBe(409);
    const second = await open(b.url);
    expect((await open(c.url)).status).toBe(503);
    expect(ingress.stats.rejected).toEqual({ badPath: 1, unknownToken: 1, duplicate: 1, capacity: 1, noMetadata: 0, badMetadata: 0 });
    const registry = new Registry();
    observeForkIngress(registry, ingress);
    const text = await registry.metrics();
    expect(text).toContain('ser_fork_rejected_total{reason="unknownToken"} 1');
    expect(text).toContain('ser_fork_connections 2');
    first.ws.close();
    second.ws.close();
  });

  it('closes 1008 on audio before the metadata or metadata naming another call, 1009 above maxMessageBytes; drops odd frames and floods', async () => {
    ingress = new ForkIngress({ host: '127.0.0.1', port: 0, maxMessageBytes: 2048, maxFrameRate: 100, metadataTimeoutMs: 300 });
    await ingress.start();
    let samples = 0;
    const t = ingress.expect('c1', { onAudio: (_f, n) => (samples += n) });
    const noMeta = await open(t.url);
    const code1 = closeCode(noMeta.ws);
    noMeta.ws.send(Buffer.alloc(320));
    expect(await code1).toBe(1008);
    const wrong = await open(t.url);
    const code2 = closeCode(wrong.ws);
    wrong.ws.send('{"callId":"someone-else"}');
    expect(await code2).toBe(1008);
    const silent = await open(t.url);
    expect(await closeCode(silent.ws)).toBe(1008); // no metadata within 300 ms
    const good = await open(t.url);
    good.ws.send(t.metadata);
    good.ws.send(encodeL16LE(new Float32Array(160).fill(0.5)));
    good.ws.send(Buffer.alloc(321)); // odd length: not L16
    for (let i = 0; i < 200; i++) good.ws.send(Buffer.alloc(320)); // 4 s of audio at once
    await until(() => ingress.stats.dropped.rateCapped > 0 && ingress.stats.dropped.malformed === 1);
    expect(samples).toBeLessThan(160 * 60);
    const code3 = closeCode(good.ws);
    good.ws.send(Buffer.alloc(4096));
    expect(await code3).toBe(1009);
    expect(ingress.stats.dropped.tooLarge).toBe(1);
    expect(ingress.stats.rejected).toMatchObject({ noMetadata: 2, badMetadata: 1 });
  });
});

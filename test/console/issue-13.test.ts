import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TargetAllowlist } from '../../src/config/targets.js';
import type { SerEventInput } from '../../src/events/types.js';
import type { ActionControl } from '../../src/policy/control.js';
import { addCall, probs, sseClient, world, wsClient, type World } from './support.js';

/** A raw HTTP exchange with chosen headers (fetch will not send a foreign Host). */
function raw(url: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port: Number(port), path, method, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes raw bytes on a fresh connection and resolves everything the server sends until it closes. */
function exchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (got += c));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    sock.write(bytes);
  });
}

function recordingControl() {
  const forced: { callId: string; target: unknown }[] = [];
  const control: ActionControl = {
    pending: () => [],
    cancel: () => true,
    force: async (callId, action) => (forced.push({ callId, target: action.kind === 'transfer' ? action.target : null }), { ok: true }),
  };
  return { control, forced };
}

function bulky(callId: string, n: number): SerEventInput {
  const evidence = Array.from({ length: 120 }, (_, t) => ({ t, probs: probs('ANG', 0.8), negativity: 0.9, loudnessDbfs: -18, speechRatio: 0.8 }));
  return { type: 'action', callId, actionId: `a${n}`, rule: 'abuse', kind: 'play', params: { media: 'sound:x' }, outcome: 'proposed', reason: null, dueAt: null, shadow: false, evidence };
}

describe('issue 13: console hardening', () => {
  let w: World | null = null;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await w?.server.close();
    w = null;
  });

  it('a WebSocket upgrade with an unparsable URL (GET //[) gets 400 and the server keeps serving', async () => {
    w = await world();
    const { host } = new URL(w.server.url);
    const reply = await exchange(
      w.server.url,
      `GET //[ HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1.1 400/);
    const plain = await exchange(w.server.url, `GET //[ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(plain).toMatch(/^HTTP\/1.1 400/);
    expect((await fetch(`${w.server.url}/healthz`)).status).toBe(200);
  });

  it('refuses a rebound Host name (DNS rebinding): page, API, SSE and WebSocket', async () => {
    w = await world();
    addCall(w.registry, 'c1');
    const port = new URL(w.server.url).port;
    const evil = { Host: `attacker.example:${port}` };
    for (const path of ['/', '/api/calls', '/events/sse', '/metrics']) {
      const r = await raw(w.server.url, path, evil);
      expect(r.status, path).toBe(403);
      expect(r.body, path).toContain('HOST_NOT_ALLOWED');
    }
    const post = await raw(w.server.url, '/api/calls/c1/actions', { ...evil, Origin: `http://attacker.example:${port}`, 'Content-Type': 'application/json' }, 'POST', '{"kind":"hangup","cause":"normal"}');
    expect(post.status).toBe(403);
    await expect(wsClient(w.server.url, '', evil)).rejects.toThrow(/403/);
    // Our own names and IP literals still work.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) expect((await raw(w.server.url, '/api/calls', { Host: host })).status, host).toBe(200);
  });

  it('checks Origin against the allowed origins, not against the Host it came with', async () => {
    const { control } = recordingControl();
    w = await world({ actions: control, allowedHosts: ['ser.example.com'] });
    addCall(w.registry, 'c1');
    const port = new URL(w.server.url).port;
    const cancel = (headers: Record<string, string>) => raw(w!.server.url, '/api/actions/a1/cancel', { 'Content-Type': 'application/json', ...headers }, 'POST', '{}');
    // Another local web server's page (a different port on localhost) is another site.
    expect((await cancel({ Host: `127.0.0.1:${port}`, Origin: 'http://127.0.0.1:3000' })).status).toBe(403);
    expect((await cancel({ Host: `localhost:${port}`, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await cancel({ Host: `127.0.0.1:${port}`, Origin: 'null' })).status).toBe(403);
    // The old check (Origin equal to Host) let this through: both name the attacker's rebound name.
    expect((await cancel({ Host: `attacker.example:${port}`, Origin: `http://attacker.example:${port}` })).status).toBe(403);
    // An IP-literal origin other than the address the request was sent to.
    expect((await cancel({ Host: `127.0.0.1:${port}`, Origin: `http://10.9.8.7:${port}` })).status).toBe(403);
    expect((await cancel({ Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect((await cancel({ Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).status).toBe(200);
    // A listed name (a reverse proxy on 443).
    expect((await cancel({ Host: 'ser.example.com', Origin: 'https://ser.example.com' })).status).toBe(200);
    // Reads from another site are refused as well (they carry caller numbers).
    expect((await raw(w.server.url, '/api/calls', { Host: `127.0.0.1:${port}`, Origin: 'https://evil.example' })).status).toBe(403);
  });

  it('forced transfers go only to listed dialplan places and agents, never to free text from the request', async () => {
    const { control, forced } = recordingControl();
    const targets = new TargetAllowlist({ dialplan: ['ser-escalate,agent'], agents: ['PJSIP/1001'] });
    w = await world({ actions: control, targets });
    addCall(w.registry, 'c1');
    const force = async (target: unknown) => {
      const res = await fetch(`${w!.server.url}/api/calls/c1/actions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'transfer', target }) });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    const tollFraud = await force({ context: 'from-internal', extension: '0019005550123' });
    expect(tollFraud.status).toBe(403);
    expect(tollFraud.body.error?.code).toBe('TARGET_NOT_ALLOWED');
    expect((await force({ agent: 'PJSIP/0900123456@pstn-trunk' })).status).toBe(403);
    expect((await force({ queue: 'support,,,,,,x' })).status).toBe(403);
    expect(forced).toHaveLength(0);
    expect((await force({ context: 'ser-escalate', extension: 'agent' })).status).toBe(200);
    expect((await force({ agent: 'PJSIP/1001' })).status).toBe(200);
    expect((await force({ queue: 'support' })).status).toBe(200);
    expect(forced.map((f) => f.target)).toEqual([{ context: 'ser-escalate', extension: 'agent' }, { agent: 'PJSIP/1001' }, { queue: 'support' }]);
  });

  it('caps open connections per address with 429, and accepts again once one closes', async () => {
    w = await world({ maxConnectionsPerIp: 3 });
    const { hostname, port } = new URL(w.server.url);
    const open = async (): Promise<{ sock: Socket; first: string }> => {
      const sock = connect(Number(port), hostname);
      sockets.push(sock);
      sock.setEncoding('utf8');
      // A keep-alive request answered proves the server holds this connection.
      sock.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      const first = await new Promise<string>((resolve, reject) => {
        sock.once('data', (c: string) => resolve(c));
        sock.once('error', reject);
      });
      return { sock, first };
    };
    const held = [await open(), await open(), await open()];
    for (const h of held) expect(h.first).toMatch(/^HTTP\/1.1 200/);
    const refused = await open();
    expect(refused.first).toMatch(/^HTTP\/1.1 429/);
    expect(refused.first).toContain('TOO_MANY_CONNECTIONS');
    await new Promise<void>((resolve) => {
      held[0]!.sock.once('close', () => resolve());
      held[0]!.sock.destroy();
    });
    // The server sees the close a moment after the client: retry until it has.
    let again = await open();
    while (/^HTTP\/1.1 429/.test(again.first)) again = await open();
    expect(again.first).toMatch(/^HTTP\/1.1 200/);
  });

  it('disconnects an SSE consumer that stops reading once it has been stalled past stallTimeoutMs', async () => {
    w = await world({ streamCapacity: 20, stallTimeoutMs: 300 });
    addCall(w.registry, 'c1');
    const sse = await sseClient(w.server.url);
    await sse.next((m) => m.type === 'hello');
    const closed = new Promise<void>((resolve) => sse.res.once('close', () => resolve()));
    sse.res.pause();
    // Publish until the socket backs up and the stall timer cuts the consumer off.
    let n = 0;
    while (w.server.stream.size > 0) {
      w.bus.publish(bulky('c1', n++));
      if (n % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    // The client sees the connection end once it reads what was sent before.
    sse.res.resume();
    await closed;
    expect(w.server.stream.size).toBe(0);
    const metrics = await (await fetch(`${w.server.url}/metrics`)).text();
    expect(metrics).toMatch(/ser_event_stream_stalled_total\{transport="sse"\} 1/);
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/console/auth.js';
import { SerError } from '../../src/errors.js';
import type { ActionControl } from '../../src/policy/control.js';
import { TOKEN, addCall, sseClient, world, wsClient, type World } from './support.js';

function recordingControl() {
  const cancelled: { actionId: string; by: string }[] = [];
  const forced: { callId: string; kind: string; by: string }[] = [];
  const control: ActionControl = {
    pending: () => [],
    cancel: (actionId, by) => (cancelled.push({ actionId, by }), true),
    force: async (callId, action, by) => (forced.push({ callId, kind: action.kind, by }), { ok: true }),
  };
  return { control, cancelled, forced };
}

const post = (url: string, headers: Record<string, string> = {}, body: unknown = { by: 'tester' }) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('console authentication', () => {
  let w: World | null = null;
  afterEach(async () => {
    await w?.server.close();
    w = null;
  });

  it('knows loopback addresses from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'pbx.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });

  describe('EXPECTED FAILURE', () => {
    it('refuses to start on a non-loopback address without a token (CONSOLE_TOKEN_REQUIRED), and binds nothing', async () => {
      for (const host of ['0.0.0.0', '::']) {
        const err = await world({ host }).then(
          (ok) => ok.server.close().then(() => null),
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SerError);
        expect((err as SerError).code).toBe('CONSOLE_TOKEN_REQUIRED');
        expect((err as SerError).message).toContain(host);
      }
    });

    it('reports a port already in use as CONSOLE_LISTEN_FAILED', async () => {
      const squatter = createServer();
      await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
      const port = (squatter.address() as AddressInfo).port;
      const err = await world({ port }).then(
        (ok) => ok.server.close().then(() => null),
        (e: unknown) => e,
      );
      squatter.close();
      expect((err as SerError).code).toBe('CONSOLE_LISTEN_FAILED');
      expect((err as SerError).message).toContain('EADDRINUSE');
    });
  });

  it('starts on 0.0.0.0 with a token', async () => {
    w = await world({ host: '0.0.0.0', token: TOKEN });
    const port = new URL(w.server.url).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/calls`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
  });

  it('with a token: commands without it get 401, with a wrong one 403, and only the right one reaches ActionControl', async () => {
    const { control, cancelled, forced } = recordingControl();
    w = await world({ token: TOKEN, actions: control });
    addCall(w.registry, 'c1');
    const cancelUrl = `${w.server.url}/api/actions/a1/cancel`;
    const forceUrl = `${w.server.url}/api/calls/c1/actions`;
    const hangup = { kind: 'hangup', cause: 'normal' };

    const none = await post(cancelUrl);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Bearer') } });
    expect((await post(forceUrl, {}, hangup)).status).toBe(401);
    expect((await post(cancelUrl, { Authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(403);
    const wrong = await post(forceUrl, { Authorization: `Bearer ${TOKEN}x` }, hangup);
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    // A token in the query string is not accepted for commands.
    expect((await post(`${cancelUrl}?token=${TOKEN}`)).status).toBe(401);
    expect(cancelled).toEqual([]);
    expect(forced).toEqual([]);

    const ok = await post(cancelUrl, { Authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect((await post(forceUrl, { Authorization: `bearer ${TOKEN}` }, hangup)).status).toBe(200);
    expect(cancelled).toEqual([{ actionId: 'a1', by: 'tester' }]);
    expect(forced).toEqual([{ callId: 'c1', kind: 'hangup', by: 'api' }]);
  });

  it('with a token: reads and the event stream need it too; the page, /healthz and /metrics do not', async () => {
    w = await world({ token: TOKEN });
    addCall(w.registry, 'c1');
    expect((await fetch(`${w.server.url}/api/calls`)).status).toBe(401);
    expect((await fetch(`${w.server.url}/api/calls/c1`, { headers: { Authorization: 'Bearer nope' } })).status).toBe(403);
    expect((await fetch(`${w.server.url}/api/calls`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    for (const path of ['/', '/app.js', '/healthz', '/metrics']) expect((await fetch(`${w.server.url}${path}`)).status, path).toBe(200);

    await expect(wsClient(w.server.url)).rejects.toThrow(/401/);
    await expect(wsClient(w.server.url, '?token=wrong-token-wrong-token')).rejects.toThrow(/403/);
    await expect(sseClient(w.server.url)).rejects.toMatchObject({ status: 401 });
    const ws = await wsClient(w.server.url, `?token=${TOKEN}`);
    const sse = await sseClient(w.server.url, '', { Authorization: `Bearer ${TOKEN}` });
    expect((await ws.next((m) => m.type === 'hello')).calls).toHaveLength(1);
    expect((await sse.next((m) => m.type === 'hello')).calls).toHaveLength(1);
    ws.close();
    sse.close();
  });

  it('without a token (loopback only): commands are allowed, but not from another site', async () => {
    const { control, cancelled } = recordingControl();
    w = await world({ actions: control });
    expect((await post(`${w.server.url}/api/actions/a9/cancel`)).status).toBe(200);
    const cross = await post(`${w.server.url}/api/actions/a9/cancel`, { Origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe('CROSS_ORIGIN');
    const sameOrigin = await post(`${w.server.url}/api/actions/a9/cancel`, { Origin: w.server.url });
    expect(sameOrigin.status).toBe(200);
    expect(cancelled).toHaveLength(2);
    await expect(wsClient(w.server.url, '', { Origin: 'https://evil.example' })).rejects.toThrow(/403/);
  });

  it('never writes the token to the logs', async () => {
    w = await world({ token: TOKEN });
    await fetch(`${w.server.url}/api/calls`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const ws = await wsClient(w.server.url, `?token=${TOKEN}`);
    await ws.next((m) => m.type === 'hello');
    ws.close();
    await w.server.close();
    expect(w.logs.join('')).toContain('console listening');
    expect(w.logs.join('')).not.toContain(TOKEN);
  });
});

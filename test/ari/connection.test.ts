import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AriConnection, redactUrl } from '../../src/ari/connection.js';
import { createLogger } from '../../src/log/logger.js';

const PASSWORD = 'pw-Zq81-secret';

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger('debug', sink) };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('AriConnection', () => {
  let server: Server | null = null;
  let conn: AriConnection | null = null;
  afterEach(async () => {
    await conn?.stop();
    conn = null;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  it('reports a refused ARI user as ARI_AUTH_FAILED, keeps retrying, and never logs the password', async () => {
    let requests = 0;
    server = createServer((req, res) => {
      requests++;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"message": "Authentication required"}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const { lines, logger } = capture();
    conn = new AriConnection({ url: `http://ser:${PASSWORD}@127.0.0.1:${port}`, user: 'ser', password: PASSWORD, app: 'ser', reconnectMinMs: 20, reconnectMaxMs: 50, connectTimeoutMs: 2000, logger });
    conn.start();
    await until(() => lines.some((l) => l.includes('ARI_AUTH_FAILED')) && requests >= 4);
    expect(conn.state).not.toBe('connected');
    const text = lines.join('');
    expect(text).not.toContain(PASSWORD);
    // One log line per distinct failure, not one per retry.
    expect(lines.filter((l) => l.includes('cannot connect to Asterisk ARI')).length).toBe(1);
  });

  it('reports an unreachable Asterisk as ARI_UNREACHABLE and stops retrying after stop()', async () => {
    server = createServer();
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    const { lines, logger } = capture();
    conn = new AriConnection({ url: `http://127.0.0.1:${port}`, user: 'ser', password: PASSWORD, app: 'ser', reconnectMinMs: 20, reconnectMaxMs: 40, connectTimeoutMs: 2000, logger });
    const states: string[] = [];
    conn.on('state', (s) => states.push(s));
    conn.start();
    await until(() => states.filter((s) => s === 'connecting').length >= 3);
    expect(lines.join('')).toContain('ARI_UNREACHABLE');
    await conn.stop();
    const after = states.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(states.length).toBe(after);
    expect(conn.state).toBe('stopped');
  });

  it('redactUrl drops user info', () => {
    expect(redactUrl(`http://ser:${PASSWORD}@pbx:8088/`)).toBe('http://pbx:8088/');
  });
});

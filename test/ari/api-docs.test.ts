import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AriConnection } from '../../src/ari/connection.js';
import { createLogger } from '../../src/log/logger.js';
import { ASTERISK } from '../helpers/paths.js';

/*
 * Issue 13: an ARI endpoint (or a proxy in front of it) answering 200 with an HTML page or a cut-off
 * description made swagger-client throw a SyntaxError out of the event loop, on every reconnect. Each
 * case here must end as a failed connect that is retried, with a clear log line; an uncaught exception
 * fails the test run.
 */

const DOCS = resolve(ASTERISK, 'api-docs');

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

/** Resolves once `check` holds, re-checking whenever the server answered a request. */
function until(server: Server, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const test = (): void => {
      if (check()) {
        server.off('request', later);
        resolve();
      }
    };
    const later = (): void => void setImmediate(test);
    server.on('request', later);
    test();
  });
}

type Answer = { status?: number; type: string; body: string };

/** A fake ARI: Asterisk's real api-docs with basePath pointed here, unless `answer` overrides a request. */
async function fakeAri(answer: (file: string, nth: number) => Answer | null): Promise<{ server: Server; url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const file = (req.url ?? '').replace(/^\/ari\/api-docs\//, '');
    const nth = (hits.get(file) ?? 0) + 1;
    hits.set(file, nth);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const custom = answer(file, nth);
    if (custom) {
      res.writeHead(custom.status ?? 200, { 'content-type': custom.type });
      res.end(custom.body);
      return;
    }
    if (!/^[a-zA-Z]+\.json$/.test(file)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"Not found"}');
      return;
    }
    const text = readFileSync(resolve(DOCS, file), 'utf8').replaceAll('http://127.0.0.1:8088', origin);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const truncated = (file: string): string => {
  const full = readFileSync(resolve(DOCS, file), 'utf8');
  return full.slice(0, Math.floor(full.length / 2));
};

describe('AriConnection: an unusable API description is a failed connect, retried', () => {
  let server: Server | null = null;
  let conn: AriConnection | null = null;
  afterEach(async () => {
    await conn?.stop();
    conn = null;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  const connect = (url: string, logger: ReturnType<typeof createLogger>) => {
    conn = new AriConnection({ url, user: 'ser', password: 'pw', app: 'ser', reconnectMinMs: 10, reconnectMaxMs: 30, connectTimeoutMs: 5000, logger });
    conn.start();
    return conn;
  };

  it('resources.json answered 200 with an HTML maintenance page', async () => {
    const fake = await fakeAri((file) => (file === 'resources.json' ? { type: 'text/html', body: '<!DOCTYPE html><html><body>Down for maintenance</body></html>' } : null));
    server = fake.server;
    const { lines, logger } = capture();
    const c = connect(fake.url, logger);
    await until(fake.server, () => (fake.hits.get('resources.json') ?? 0) >= 3);
    expect(c.state).not.toBe('connected');
    expect(c.lastError).toMatch(/resources\.json is not JSON.*text\/html/);
    expect(lines.filter((l) => l.includes('cannot connect to Asterisk ARI'))).toHaveLength(1);
  });

  it('channels.json cut off half-way (served as application/json)', async () => {
    const fake = await fakeAri((file) => (file === 'channels.json' ? { type: 'application/json', body: truncated('channels.json') } : null));
    server = fake.server;
    const { logger } = capture();
    const c = connect(fake.url, logger);
    await until(fake.server, () => (fake.hits.get('channels.json') ?? 0) >= 3);
    expect(c.state).not.toBe('connected');
    expect(c.lastError).toMatch(/channels\.json is not JSON/);
  });

  it('valid JSON of the wrong shape, and a basePath pointing at another host', async () => {
    let mode: 'shape' | 'host' = 'shape';
    const fake = await fakeAri((file) => {
      if (file !== 'resources.json') return null;
      return mode === 'shape'
        ? { type: 'application/json', body: '{"apis": "nope"}' }
        : { type: 'application/json', body: JSON.stringify({ basePath: 'http://collector.example/ari', apis: [{ path: '/api-docs/channels.{format}' }] }) };
    });
    server = fake.server;
    const { logger } = capture();
    const c = connect(fake.url, logger);
    await until(fake.server, () => (fake.hits.get('resources.json') ?? 0) >= 2);
    expect(c.lastError).toMatch(/not an ARI description/);
    mode = 'host';
    await until(fake.server, () => /collector\.example/.test(c.lastError ?? ''));
    expect(c.state).not.toBe('connected');
  });

  it('a description that turns bad between the check and swagger-client\'s own fetch', async () => {
    // Each connect fetches channels.json twice: our check (odd), then swagger-client (even).
    const fake = await fakeAri((file, nth) =>
      file === 'channels.json' && nth % 2 === 0 ? { type: 'application/json', body: truncated('channels.json') } : null,
    );
    server = fake.server;
    const { logger } = capture();
    const c = connect(fake.url, logger);
    await until(fake.server, () => (fake.hits.get('channels.json') ?? 0) >= 6);
    expect(c.state).not.toBe('connected');
    expect(c.lastError).toMatch(/unusable answer|channels/);
  });
});

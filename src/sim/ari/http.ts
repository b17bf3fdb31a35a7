import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../log/logger.js';
import { apiDeclaration, resourceListing } from './api-docs.js';
import type { AppHub } from './apps.js';
import { AriHttpError } from './errors.js';
import type { Router } from './router.js';

/**
 * ARI over HTTP: basic auth (or `api_key`) on everything, the api-docs with a basePath built from
 * the Host header, REST dispatch through the router, and the `/ari/events` websocket (401 JSON on a
 * bad key, 400 HTML without `app`, as recorded in 06).
 */

export interface RestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface AriHttpOptions {
  user: string;
  password: string;
  restLatencyMs: number;
  router: Router;
  hub: AppHub;
  logger?: Logger;
  onRest: (entry: RestLog) => void;
}

const AUTH_REQUIRED = { message: 'Authentication required' };

function missingAppPage(): string {
  return (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n<title>400 Bad Request</title>\r\n</head><body>\r\n' +
    '<h1>Bad Request</h1>\r\n<p>HTTP request is missing param: [app]</p>\r\n<hr />\r\n<address>Asterisk/22.10.1</address>\r\n</body></html>\r\n'
  );
}

export class AriHttpServer {
  readonly #opts: AriHttpOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  #server: Server | null = null;

  constructor(opts: AriHttpOptions) {
    this.#opts = opts;
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  /** Closes the listener and cuts every connection (keep-alive HTTP included). */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    for (const ws of this.#wss.clients) ws.terminate();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  #authorised(req: IncomingMessage, query: URLSearchParams): boolean {
    const expected = `${this.#opts.user}:${this.#opts.password}`;
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ') && Buffer.from(header.slice(6), 'base64').toString('utf8') === expected) return true;
    const key = query.get('api_key');
    return key !== null && key === expected;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'api_key'));
    const send = (status: number, body?: unknown, contentType = 'application/json') => {
      this.#opts.onRest({ method, path: url.pathname, query, status });
      if (res.destroyed) return;
      if (status === 204 || body === undefined) {
        res.writeHead(status).end();
        return;
      }
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) }).end(text);
    };
    try {
      const rawBody = await readBody(req);
      if (!url.pathname.startsWith('/ari/')) return send(404, { message: 'Not found' });
      if (!this.#authorised(req, url.searchParams)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
        return send(401, AUTH_REQUIRED);
      }
      if (this.#opts.restLatencyMs > 0) await new Promise((r) => setTimeout(r, this.#opts.restLatencyMs));
      const path = url.pathname.slice('/ari'.length);
      const docs = /^\/api-docs\/(\w+)\.json$/.exec(path);
      if (docs && method === 'GET') {
        const basePath = `http://${req.headers.host ?? 'localhost'}/ari`;
        const doc = docs[1] === 'resources' ? resourceListing(basePath) : apiDeclaration(docs[1]!, basePath);
        return doc ? send(200, doc) : send(404, { message: 'Resource not found' });
      }
      if (path === '/events') return send(400, { message: 'Websocket upgrade required' });
      const match = this.#opts.router.match(method, path);
      if (!match) return send(404, { message: 'Resource not found' });
      if ('methodNotAllowed' in match) return send(405, { message: 'Method Not Allowed' });
      let body: unknown = undefined;
      if (rawBody.length > 0) {
        try {
          body = JSON.parse(rawBody.toString('utf8'));
        } catch {
          return send(400, { message: 'Malformed body' });
        }
      }
      const hub = this.#opts.hub;
      const held = !match.route.eventsBeforeResponse;
      if (held) hub.hold();
      try {
        const result = await match.route.handler({ params: match.params, query, body });
        send(result.status, result.body);
      } finally {
        if (held) hub.release();
      }
    } catch (err) {
      if (err instanceof AriHttpError) return send(err.status, err.body);
      this.#opts.logger?.error({ err, method, path: url.pathname }, 'ARI simulator: request failed');
      send(500, { message: 'An internal error prevented this request from being handled' });
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reject = (status: number, text: string, body: string, contentType: string) => {
      this.#opts.onRest({ method: 'GET', path: url.pathname, query: queryOf(url), status });
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (url.pathname !== '/ari/events') return reject(404, 'Not Found', JSON.stringify({ message: 'Not found' }), 'application/json');
    if (!this.#authorised(req, url.searchParams)) return reject(401, 'Unauthorized', JSON.stringify(AUTH_REQUIRED), 'application/json');
    const apps = (url.searchParams.get('app') ?? '').split(',').filter(Boolean);
    if (apps.length === 0) return reject(400, 'Bad Request', missingAppPage(), 'text/html');
    if (!this.#server) return reject(503, 'Service Unavailable', '', 'text/plain');
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#opts.onRest({ method: 'GET', path: url.pathname, query: queryOf(url), status: 101 });
      this.#opts.hub.connect(ws, apps, url.searchParams.get('subscribeAll') === 'true');
    });
  }
}

function queryOf(url: URL): Record<string, string> {
  return Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'api_key'));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallRegistry } from '../calls/registry.js';
import { SerError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ActionControl } from '../policy/control.js';
import { handleApi } from './api.js';
import { openApiText } from './openapi.js';
import { BearerAuth, isLoopbackHost, type AuthResult } from './auth.js';
import { limitConnections } from './conn-limit.js';
import { HostGuard } from './guard.js';
import { parseFilter } from './filter.js';
import type { HealthReport } from './health.js';
import { CallHistory } from './history.js';
import { sendError, sendJson } from './http.js';
import { sseSink, wsSink } from './sinks.js';
import { StaticAssets } from './static.js';
import { EventStream } from './stream.js';
import type { TargetAllowlist } from '../config/targets.js';
import type { HistoryRecorder } from '../history/index.js';
import type { ListenFn, RuleInfo } from './api-history.js';
import type { NamedToken } from './auth.js';

export interface ConsoleServerOptions {
  bus: EventBus;
  registry: CallRegistry;
  /** The rule engine; null when none runs (reads work, commands answer 503). */
  actions: ActionControl | null;
  metrics: Metrics;
  health: () => HealthReport;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Bearer token; required when `host` is not a loopback address. */
  token: string | null;
  logger: Logger;
  /** Events buffered per stream consumer before they are dropped for it (default 1000). */
  streamCapacity?: number;
  /** Seconds of per-call timeline kept for consoles that connect mid-call (default 300). */
  historySeconds?: number;
  /** Names besides loopback and `host` that browsers may reach the console by (console.allowedHosts). */
  allowedHosts?: readonly string[];
  /** Open connections at once, in total and per remote address (defaults 512 / 64). */
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  /** A stream consumer whose socket has not drained for this long is disconnected (default 60 s). */
  stallTimeoutMs?: number;
  /** Where forced transfers may go (the config's targets); without it only queues are accepted. */
  targets?: TargetAllowlist;
  /** Supervisors' own tokens (console.tokens): the audit names whose token acted. */
  namedTokens?: readonly NamedToken[];
  /** Call history in a database; without it ended calls are not kept and /api history queries answer 503. */
  records?: HistoryRecorder | null;
  /** Listen-in through the PBX (targets.supervisors); without it POST /api/calls/:id/listen answers 503. */
  listen?: ListenFn | null;
  /** The rules, for readable alert text on the page. */
  rules?: readonly RuleInfo[];
}

export interface ConsoleServer {
  /** e.g. http://127.0.0.1:8090 */
  readonly url: string;
  readonly port: number;
  readonly stream: EventStream;
  close(): Promise<void>;
}

const WS_PING_MS = 30_000;
const SSE_KEEPALIVE_MS = 15_000;

/**
 * The console's HTTP server: the supervisor page, the event stream (/events WebSocket, /events/sse),
 * the /api read and command routes, /metrics and /healthz. Auth rules are in docs/console.md.
 */
export async function createConsoleServer(opts: ConsoleServerOptions): Promise<ConsoleServer> {
  const { bus, registry, actions, metrics, logger } = opts;
  if (opts.token === null && (opts.namedTokens?.length ?? 0) === 0 && !isLoopbackHost(opts.host)) {
    throw new SerError(
      'CONSOLE_TOKEN_REQUIRED',
      `the console would listen on ${opts.host}, which is not a loopback address, without a token: set http.token (SER_CONSOLE_TOKEN) or listen on 127.0.0.1`,
    );
  }
  const assets = new StaticAssets();
  const auth = new BearerAuth(opts.token, opts.namedTokens ?? []);
  const history = new CallHistory(bus, opts.historySeconds ?? 300, (callId) => registry.get(callId) !== undefined);
  const stream = new EventStream({
    bus,
    registry,
    actions,
    history,
    metrics,
    logger,
    ...(opts.streamCapacity ? { capacity: opts.streamCapacity } : {}),
    ...(opts.stallTimeoutMs ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
  });
  const deps = {
    registry,
    actions,
    history,
    stream,
    logger,
    targets: opts.targets ?? null,
    records: opts.records ?? null,
    listen: opts.listen ?? null,
    supervisors: opts.targets?.supervisors ?? [],
    rules: opts.rules ?? [],
  };
  // The port is known once listening; until then nothing is served.
  let guard: HostGuard | null = null;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const sseResponses = new Set<ServerResponse>();

  const refuseAuth = (res: ServerResponse, result: Exclude<AuthResult, 'ok'>): void => {
    if (result === 'missing') {
      res.setHeader('WWW-Authenticate', 'Bearer realm="ser-ari"');
      sendError(res, 401, 'UNAUTHORIZED', 'a bearer token is required: Authorization: Bearer <token>');
    } else {
      sendError(res, 403, 'FORBIDDEN', 'the bearer token is wrong');
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = parseRequestUrl(req);
    if (url === null) return sendError(res, 400, 'BAD_REQUEST', 'the request target is not a valid path');
    const verdict = guard?.check(req) ?? 'bad-host';
    if (verdict === 'bad-host') return sendError(res, 403, 'HOST_NOT_ALLOWED', 'this console does not answer to that Host name (console.allowedHosts)');
    if (verdict === 'bad-origin') return sendError(res, 403, 'CROSS_ORIGIN', 'requests from another site are refused');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if ((method === 'GET' || method === 'HEAD') && assets.has(path)) {
      assets.serve(path, res, method === 'HEAD');
      return;
    }
    if (path === '/healthz') {
      const report = opts.health();
      sendJson(res, report.status === 'ok' ? 200 : 503, report);
      return;
    }
    if (path === '/metrics') {
      const text = await metrics.text();
      res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
      return;
    }
    if (path === '/events') {
      res.setHeader('Upgrade', 'websocket');
      sendError(res, 426, 'UPGRADE_REQUIRED', '/events is a WebSocket endpoint; plain HTTP clients can use /events/sse');
      return;
    }
    if (path === '/api/openapi.json' && method === 'GET') {
      const text = openApiText();
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (path === '/events/sse' || path.startsWith('/api/')) {
      const result = auth.check(req, url, path === '/events/sse');
      if (result !== 'ok') {
        refuseAuth(res, result);
        return;
      }
      if (path === '/events/sse') openSse(req, res, url);
      else await handleApi(deps, req, res, url);
      return;
    }
    sendError(res, 404, 'NOT_FOUND', `nothing at ${path}`);
  };

  const openSse = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    sseResponses.add(res);
    const { detach } = stream.attach(sseSink(res), parseFilter(url.searchParams));
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
    keepalive.unref();
    req.socket.setNoDelay(true);
    res.on('close', () => {
      clearInterval(keepalive);
      sseResponses.delete(res);
      detach();
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: (err as Error).message, path: req.url?.split('?')[0] }, 'console request failed');
      try {
        sendError(res, 500, 'INTERNAL', 'internal error');
      } catch {
        res.destroy();
      }
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string, extra = ''): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
    };
    try {
      const url = parseRequestUrl(req);
      if (url === null) return refuse(400, 'Bad Request');
      if (url.pathname !== '/events') return refuse(404, 'Not Found');
      // Browsers do not apply CORS to WebSocket: another site could otherwise read the stream.
      if ((guard?.check(req) ?? 'bad-host') !== 'ok') return refuse(403, 'Forbidden');
      const result = auth.check(req, url, true);
      if (result === 'missing') return refuse(401, 'Unauthorized', 'WWW-Authenticate: Bearer realm="ser-ari"\r\n');
      if (result === 'wrong') return refuse(403, 'Forbidden');
      wss.handleUpgrade(req, socket, head, (ws) => openWs(ws, url));
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'console upgrade failed');
      socket.destroy();
    }
  });
  // Malformed HTTP (a bad request line, oversized headers): answer 400 and close, as Node does by default.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  limitConnections(server, { maxConnections: opts.maxConnections ?? 512, maxConnectionsPerIp: opts.maxConnectionsPerIp ?? 64 }, (ip) => {
    metrics.consoleConnectionsRefused.inc();
    logger.debug({ ip }, 'console connection refused: too many open');
  });

  const openWs = (ws: WebSocket, url: URL): void => {
    const { detach } = stream.attach(wsSink(ws), parseFilter(url.searchParams));
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, WS_PING_MS);
    ping.unref();
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearInterval(ping);
      detach();
    });
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      stream.close();
      history.close();
      reject(new SerError('CONSOLE_LISTEN_FAILED', `the console cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  guard = new HostGuard({ listenHost: opts.host, port: address.port, allowedHosts: opts.allowedHosts ?? [] });
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  logger.info({ url, auth: auth.enabled }, 'console listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    port: address.port,
    stream,
    close() {
      closing ??= (async () => {
        stream.close();
        history.close();
        for (const ws of wss.clients) ws.terminate();
        for (const res of sseResponses) res.end();
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/** The request's path and query; null when the request target does not parse (e.g. `//[`). */
function parseRequestUrl(req: IncomingMessage): URL | null {
  const target = req.url ?? '/';
  if (!target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://console.invalid');
  } catch {
    return null;
  }
}

import { get as httpGet, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { CallRegistry } from '../../src/calls/registry.js';
import { createConsoleServer, type ConsoleServer, type ConsoleServerOptions } from '../../src/console/server.js';
import { healthReport } from '../../src/console/health.js';
import { EventBus } from '../../src/events/bus.js';
import type { CallSummary } from '../../src/events/types.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { CallControl, PbxResult } from '../../src/pbx/types.js';

export const TOKEN = 'test-token-0123456789abcdef';

export interface World {
  bus: EventBus;
  registry: CallRegistry;
  metrics: Metrics;
  logger: Logger;
  logs: string[];
  server: ConsoleServer;
}

/** A fresh bus, registry, metrics and console server on 127.0.0.1, port 0. */
export async function world(overrides: Partial<ConsoleServerOptions> = {}): Promise<World> {
  const bus = overrides.bus ?? new EventBus();
  const registry = overrides.registry ?? new CallRegistry(bus);
  const metrics = overrides.metrics ?? new Metrics();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const server = await createConsoleServer({
    bus,
    registry,
    actions: null,
    metrics,
    health: () => healthReport({ ari: { connected: true, reconnects: 0 }, model: { loaded: true, name: 'ser-cnn' }, ports: { free: 10, total: 10 } }),
    host: '127.0.0.1',
    port: 0,
    token: null,
    logger,
    ...overrides,
  });
  return { bus, registry, metrics, logger, logs, server };
}

export const EMPTY_SUMMARY: CallSummary = {
  durationSeconds: 1,
  windows: 0,
  classified: 0,
  meanProbs: null,
  dominant: null,
  peakNegativity: null,
  actionsExecuted: 0,
  rtp: null,
};

export function addCall(registry: CallRegistry, callId: string, extra: { queue?: string | null; callerNumber?: string } = {}) {
  return registry.add({
    callId,
    channelName: `PJSIP/caller-${callId}`,
    callerNumber: extra.callerNumber ?? '+4930' + callId.replace(/\D/g, '').padStart(6, '1'),
    callerName: null,
    mode: extra.queue ? 'queue' : 'monitor',
    phase: extra.queue ? 'queued' : 'ivr',
    queue: extra.queue ?? null,
  });
}

export function probs(dominant: string, p = 0.7): Record<string, number> {
  const labels = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
  const rest = (1 - p) / (labels.length - 1);
  return Object.fromEntries(labels.map((l) => [l, l === dominant ? p : rest]));
}

/** A stream consumer that keeps every message it receives; `next(pred)` waits for one that matches. */
export interface Collector {
  messages: Record<string, unknown>[];
  next(pred: (m: Record<string, unknown>) => boolean, what?: string): Promise<Record<string, unknown>>;
  close(): void;
}

function collector(close: () => void): Collector & { push(m: Record<string, unknown>): void; fail(err: Error): void } {
  const messages: Record<string, unknown>[] = [];
  const waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | null = null;
  return {
    messages,
    push(m) {
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    },
    fail(err) {
      failure = err;
      for (const w of waiters.splice(0)) w.reject(err);
    },
    next(pred, what = 'a matching message') {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${messages.map((m) => m.type).join(', ')}`)), 10_000);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    },
    close,
  };
}

export async function wsClient(url: string, query = '', headers: Record<string, string> = {}): Promise<Collector & { ws: WebSocket }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/events${query}`, { headers });
  const c = collector(() => ws.terminate());
  ws.on('message', (data) => c.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
  });
  ws.on('error', (err) => c.fail(err));
  return Object.assign(c, { ws });
}

export async function sseClient(url: string, query = '', headers: Record<string, string> = {}): Promise<Collector & { res: IncomingMessage }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpGet(`${url}/events/sse${query}`, { headers }, resolve);
    req.on('error', reject);
  });
  const c = collector(() => res.destroy());
  if (res.statusCode !== 200) {
    res.resume();
    throw Object.assign(new Error(`SSE refused: ${res.statusCode}`), { status: res.statusCode });
  }
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) c.push(JSON.parse(data) as Record<string, unknown>);
    }
  });
  res.on('error', () => {});
  return Object.assign(c, { res });
}

/** The PBX side of a console test: says yes to everything and records what the rule engine asked for. */
export class RecordingControl implements CallControl {
  readonly ops: string[] = [];
  #ok(op: string, callId: string): Promise<PbxResult> {
    this.ops.push(`${op}:${callId}`);
    return Promise.resolve({ ok: true });
  }
  setVariables(callId: string) { return this.#ok('setVariables', callId); }
  setPriority(callId: string) { return this.#ok('setPriority', callId); }
  transfer(callId: string) { return this.#ok('transfer', callId); }
  play(callId: string) { return this.#ok('play', callId); }
  hangup(callId: string) { return this.#ok('hangup', callId); }
}

import { Writable } from 'node:stream';
import { CallRegistry } from '../../src/calls/registry.js';
import { createConsoleServer, type ConsoleServer, type ConsoleServerOptions } from '../../src/console/server.js';
import { healthReport } from '../../src/console/health.js';
import { EventBus } from '../../src/events/bus.js';
import type { CallSummary } from '../../src/events/types.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';

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

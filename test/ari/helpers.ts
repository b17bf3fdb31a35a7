import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startAriApp, type AriAppHandle } from '../../src/ari/index.js';
import type { QueueHandler } from '../../src/queue/handler.js';
import { CallRegistry } from '../../src/calls/registry.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { EventBus } from '../../src/events/bus.js';
import type { SerEvent, TapEvent } from '../../src/events/types.js';
import { InferenceEngine } from '../../src/inference/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { AudioPath } from '../../src/pipeline/audio-path.js';
import { PortPool } from '../../src/rtp/port-pool.js';
import { AriSimulator, type AriSimulatorOptions } from '../../src/sim/ari/index.js';
import { MODEL } from '../helpers/paths.js';

export async function until(check: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface World {
  sim: AriSimulator;
  bus: EventBus;
  events: SerEvent[];
  registry: CallRegistry;
  ports: PortPool;
  audioPath: AudioPath;
  app: AriAppHandle;
  config: Config;
  logs: string[];
  taps(callId: string): TapEvent[];
  /** Our objects still on the simulator: snoop / externalMedia channels and bridges. */
  leftovers(): { channels: string[]; bridges: string[] };
  close(): Promise<void>;
}

export interface WorldOptions {
  engine: InferenceEngine;
  ports: [number, number];
  sim?: AriSimulatorOptions;
  /** Run against this simulator instead of starting one. */
  existingSim?: AriSimulator;
  ari?: Record<string, unknown>;
  queueHandler?: QueueHandler;
}

/** A fresh simulator, audio path and ARI app, connected. */
export async function world(opts: WorldOptions): Promise<World> {
  const sim = opts.existingSim ?? (await AriSimulator.start(opts.sim));
  const bus = new EventBus();
  const events: SerEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const registry = new CallRegistry(bus);
  const ports = new PortPool(opts.ports[0], opts.ports[1]);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger(process.env.SER_TEST_DEBUG ? 'debug' : 'info', sink);
  if (process.env.SER_TEST_DEBUG) sim.on('rest', (r) => logs.push(`REST ${r.method} ${r.path} ${r.status}\n`));
  if (process.env.SER_TEST_DEBUG) sim.on('event', (_a, e) => logs.push(`EVT ${JSON.stringify(e).slice(0, 160)}\n`));
  const audioPath = new AudioPath({ engine: opts.engine, ports, rtpHost: '127.0.0.1', slin16PayloadType: 118, jitterPackets: 3, minSpeechRatio: 0.25, smoothing: 0.5, logger });
  const config = configSchema.parse({
    ari: {
      url: sim.url,
      user: sim.user,
      password: sim.password,
      requestTimeoutMs: 3000,
      reconnectMinMs: 50,
      reconnectMaxMs: 300,
      tapHealthMs: 1000,
      tapRetries: 2,
      shutdownTimeoutMs: 4000,
      ...opts.ari,
    },
  });
  const app = startAriApp({ config, logger, bus, registry, audioPath, ...(opts.queueHandler ? { queueHandler: opts.queueHandler } : {}) });
  await until(() => app.health().connected, 10_000, 'ARI connected').catch((err: Error) => {
    console.log('CONNECT FAIL', app.health(), logs.join(''));
    throw err;
  });
  return {
    sim,
    bus,
    events,
    registry,
    ports,
    audioPath,
    app,
    config,
    logs,
    taps: (callId) => events.filter((e): e is TapEvent => e.type === 'tap' && e.callId === callId),
    leftovers: () => ({
      channels: sim
        .channels()
        .filter((c) => !c.hungUp && (c.kind === 'snoop' || c.kind === 'external'))
        .map((c) => c.id),
      bridges: sim.bridges().map((b) => b.id),
    }),
    async close() {
      await app.stop();
      await audioPath.close();
      await sim.stop();
    },
  };
}

/**
 * The fixture of a test file that runs the ARI app against the simulator: one real inference engine
 * for the file, and `world()` for each test, closed after it (its logs printed on failure with
 * SER_TEST_DEBUG=1).
 */
export function useAriWorlds(): { engine: () => InferenceEngine; world: (opts: Omit<WorldOptions, 'engine'>) => Promise<World> } {
  let engine: InferenceEngine;
  let opened: World[] = [];
  beforeAll(async () => {
    engine = await InferenceEngine.open({ modelPath: MODEL, workers: 1, maxBatch: 8, maxWaitMs: 5 });
  });
  afterEach(async (ctx) => {
    if (process.env.SER_TEST_DEBUG && ctx.task.result?.state === 'fail') for (const w of opened) console.log(w.logs.join(''));
    const closing = opened;
    opened = [];
    for (const w of closing) await w.close();
  });
  afterAll(async () => {
    await engine.close();
  });
  return {
    engine: () => engine,
    async world(opts) {
      const w = await world({ ...opts, engine });
      opened.push(w);
      return w;
    },
  };
}

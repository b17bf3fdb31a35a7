import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { startAriApp, type AriAppHandle } from '../ari/index.js';
import { queueAriOf } from '../ari/queue-ari.js';
import { CallLifecycle } from '../calls/lifecycle.js';
import { startFreeSwitch } from '../freeswitch/adapter.js';
import { observeForkIngress } from '../freeswitch/fork-metrics.js';
import type { PbxPort } from '../pbx/port.js';
import { DEFAULT_SOUNDS } from '../sim/ari/sounds.js';
import { FsSimulator } from '../sim/freeswitch/index.js';
import { connectAmiPriority } from '../ami/priority.js';
import { CallRegistry } from '../calls/registry.js';
import type { Config } from '../config/schema.js';
import { resolveDataPath } from '../config/paths.js';
import { createConsoleServer, type ConsoleServer } from '../console/server.js';
import { healthReport } from '../console/health.js';
import { EventBus } from '../events/bus.js';
import { emotionEventInput } from '../events/from-tracker.js';
import { vadOptionsOf } from '../audio/vad.js';
import { speechGateOption } from '../inference/gate-options.js';
import { InferenceEngine } from '../inference/engine.js';
import { Metrics } from '../metrics/metrics.js';
import { observeAudioPath, observeBus, observeInference } from '../metrics/observe.js';
import { AudioPath } from '../pipeline/audio-path.js';
import { loadRules, RuleEngine } from '../policy/index.js';
import { checkRuleTargets, TargetAllowlist } from '../config/targets.js';
import { createQueues, type QueueService } from '../queue/index.js';
import { HistoryRecorder, openHistoryStore } from '../history/index.js';
import { readableRule } from '../policy/readable.js';
import { resolve as resolvePath } from 'node:path';
import { parsePortRange, PortPool } from '../rtp/port-pool.js';
import { AriSimulator, type SimAgentSpec } from '../sim/ari/index.js';

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  /**
   * Run a built-in simulated PBX (demo mode): true or 'asterisk' the ARI simulator, 'freeswitch' the
   * FreeSWITCH one. The ARI simulator is forced when neither ari.url nor freeswitch.host is set.
   */
  simulate?: boolean | 'asterisk' | 'freeswitch';
  /** Agent endpoints of the simulated PBX, there before the queues look them up. */
  simAgents?: SimAgentSpec[];
}

/** Everything `ser-ari run` starts, wired together; `stop()` releases it in reverse order. */
export interface Service {
  readonly config: Config;
  readonly consoleUrl: string;
  readonly bus: EventBus;
  readonly registry: CallRegistry;
  readonly engine: InferenceEngine;
  readonly audioPath: AudioPath;
  /** The switch: Asterisk (ARI) or FreeSWITCH (event socket + audio fork). */
  readonly pbx: PbxPort;
  /** Every live call, PBX-neutral. */
  readonly calls: CallLifecycle;
  readonly rules: RuleEngine | null;
  readonly queues: QueueService | null;
  readonly metrics: Metrics;
  /** Call history and audit (history.store), null with `none`. */
  readonly history: HistoryRecorder | null;
  /** The simulated Asterisk in demo mode, else null. */
  readonly sim: AriSimulator | null;
  /** The simulated FreeSWITCH (demo with --pbx freeswitch), else null. */
  readonly fsSim: FsSimulator | null;
  stop(): Promise<void>;
}

/**
 * The composition root: model, audio path, the PBX-neutral call lifecycle, one switch adapter behind
 * PbxPort (FreeSWITCH when freeswitch.host is set, else Asterisk over ARI, else the built-in simulated
 * Asterisk; `simulate: 'freeswitch'` the simulated FreeSWITCH), the built-in queues (Asterisk only),
 * rules and the console. Anything that fails half-way releases what was already started.
 */
export async function startService(opts: ServiceOptions): Promise<Service> {
  const { logger } = opts;
  const cleanups: Array<() => Promise<void> | void> = [];
  const stopAll = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
  };
  try {
    let config = opts.config;
    let sim: AriSimulator | null = null;
    let fsSim: FsSimulator | null = null;
    if (opts.simulate === 'freeswitch') {
      const soundsDir = config.freeswitch.soundsDir.replace(/\/+$/, '');
      // The same prompts installed as on the simulated Asterisk: any other file fails to play.
      fsSim = await FsSimulator.start({ host: '127.0.0.1', port: 0, sounds: (path) => DEFAULT_SOUNDS.some((name) => path === `${soundsDir}/${name}.wav`) });
      cleanups.push(() => fsSim!.stop());
      config = { ...config, freeswitch: { ...config.freeswitch, host: '127.0.0.1', port: fsSim.port, password: 'ClueCon', forkPort: 0 } };
      logger.info({ esl: `127.0.0.1:${fsSim.port}` }, 'running the built-in simulated FreeSWITCH');
    } else if (opts.simulate || (config.ari.url === null && config.freeswitch.host === null)) {
      sim = await AriSimulator.start({ host: '127.0.0.1', port: 0, logger: logger.child({ component: 'sim' }) });
      cleanups.push(() => sim!.stop());
      for (const agent of opts.simAgents ?? []) sim.addAgent(agent);
      config = { ...config, ari: { ...config.ari, url: sim.url, user: sim.user, password: sim.password } };
      logger.info({ url: sim.url }, 'no Asterisk configured: running the built-in simulated PBX');
    }

    const engine = await InferenceEngine.open({ ...config.model, modelPath: resolveDataPath(config.model.path), speechGate: speechGateOption(config.audio) });
    cleanups.push(() => engine.close());
    logger.info({ model: engine.card.name, labels: engine.labels, workers: config.model.workers }, 'model loaded');

    const bus = new EventBus();
    const registry = new CallRegistry(bus);
    const metrics = new Metrics({ processMetrics: true });
    cleanups.push(observeBus(metrics, bus), observeInference(metrics, engine));

    // Before any call can arrive: every call from the first one on is kept.
    const store = await openHistoryStore(config.history, config.history.path === ':memory:' ? ':memory:' : resolvePath(config.history.path));
    const history = store
      ? new HistoryRecorder({ bus, store, logger, instance: config.history.instance ?? hostname(), flushMs: config.history.flushMs, retentionDays: config.history.retentionDays })
      : null;
    if (history) {
      cleanups.push(() => history.close());
      await history.start();
      logger.info({ store: store!.kind, ...(config.history.store === 'sqlite' ? { path: config.history.path } : {}), retentionDays: config.history.retentionDays }, 'call history kept');
    }

    const { min, max } = parsePortRange(config.rtp.ports);
    const ports = new PortPool(min, max);
    const audioPath = new AudioPath({
      engine,
      ports,
      rtpHost: config.rtp.host,
      slin16PayloadType: config.rtp.slin16PayloadType,
      jitterPackets: config.rtp.jitterPackets,
      maxPacketRate: config.rtp.maxPacketRate,
      recvBufferBytes: config.rtp.recvBufferBytes,
      minSpeechRatio: config.audio.minSpeechRatio,
      smoothing: config.emotion.smoothing,
      vad: vadOptionsOf(config.audio),
      logger,
    });
    cleanups.push(() => audioPath.close());
    cleanups.push(observeAudioPath(metrics, audioPath));

    const rules = config.rules ? loadRules(resolveDataPath(config.rules), { labels: engine.labels }) : null;
    const targets = TargetAllowlist.fromConfig(config);
    if (rules) checkRuleTargets(rules.rules, targets, config.rules!);
    const calls = new CallLifecycle({ registry, bus, audioPath, verdicts: config.ari, logger });
    cleanups.push(() => calls.close());
    const pbx = config.freeswitch.host !== null ? await startFreeSwitchPbx(config, calls, audioPath, metrics, logger, cleanups) : startAsteriskPbx(config, calls, audioPath, metrics, logger, cleanups);
    const queues = pbx.queues;
    if (queues) {
      await waitUntil(() => pbx.port.health().connected, config.ari.requestTimeoutMs * 2);
      // Asterisk may be down at start-up: the queues set themselves up when it connects.
      await queues.start().catch((err: Error) =>
        logger.warn({ err: err.message }, 'built-in queues not set up yet: they will be once Asterisk connects'),
      );
    }
    const port = pbx.port;

    const ruleEngine = rules
      ? new RuleEngine({ rules, control: port.control, registry, bus, logger, hopSeconds: engine.card.hopSeconds })
      : null;
    if (ruleEngine) {
      cleanups.push(() => ruleEngine.close());
      logger.info({ rules: ruleEngine.rules.map((r) => ({ name: r.name, shadow: r.shadow })) }, 'rules loaded');
    }
    const onRemoved = (c: { callId: string }): void => ruleEngine?.callEnded(c.callId);
    registry.on('removed', onRemoved);

    // The emotion stream: per-second updates become bus events, the registry's latest view and rule input.
    audioPath.on('emotion', (u) => {
      if (!registry.get(u.callId)) return; // e.g. an agent-side tap: keyed `<callId>:agent`, not a call
      const event = bus.publish(emotionEventInput(u));
      if (event.type === 'emotion') registry.update(u.callId, { lastEmotion: event });
      ruleEngine?.observe(u);
    });

    const consoleServer: ConsoleServer = await createConsoleServer({
      bus,
      registry,
      actions: ruleEngine,
      metrics,
      health: () => {
        const { connected, reconnects } = port.health();
        return healthReport({
          ari: { connected, reconnects },
          pbx: { kind: port.kind, connected, reconnects },
          model: { loaded: true, name: engine.card.name },
          ports: { free: ports.free, total: ports.size },
          rtpError: audioPath.bindError,
        });
      },
      host: config.http.host,
      port: config.http.port,
      token: config.http.token,
      allowedHosts: config.console.allowedHosts,
      maxConnections: config.console.maxConnections,
      maxConnectionsPerIp: config.console.maxConnectionsPerIp,
      stallTimeoutMs: config.console.stallTimeoutMs,
      targets,
      namedTokens: config.console.tokens,
      records: history,
      listen: port.control.listen ? (callId, endpoint, spy) => port.control.listen!(callId, endpoint, spy) : null,
      rules: ruleEngine ? ruleEngine.rules.map(readableRule) : [],
      logger,
    });
    cleanups.push(() => consoleServer.close());

    return {
      config,
      consoleUrl: consoleServer.url,
      bus,
      registry,
      engine,
      audioPath,
      pbx: port,
      calls,
      rules: ruleEngine,
      queues,
      metrics,
      history,
      sim,
      fsSim,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface StartedPbx {
  port: PbxPort;
  queues: QueueService | null;
}

type Cleanups = Array<() => Promise<void> | void>;

/** Asterisk: the ARI app, the built-in queues over its connection, app_queue priority through AMI. */
function startAsteriskPbx(config: Config, calls: CallLifecycle, audioPath: AudioPath, metrics: Metrics, logger: Logger, cleanups: Cleanups): StartedPbx {
  const { registry, bus } = calls;
  let ari: AriAppHandle | null = null;
  const queues =
    config.queues.length > 0
      ? createQueues({
          client: queueAriOf(() => ari?.app.client ?? null, config.ari.app, config.ari.requestTimeoutMs),
          live: () => ari?.app.live,
          continueCall: (callId) => ari!.app.continueCall(callId),
          config,
          registry,
          bus,
          logger,
        })
      : null;
  const ami = connectAmiPriority(config.ami, logger);
  if (ami) cleanups.push(() => ami.close());
  ari = startAriApp({
    config,
    logger,
    bus,
    registry,
    audioPath,
    calls,
    ...(queues ? { queueHandler: queues, queuePriority: queues } : {}),
    ...(ami ? { amiPriority: ami } : {}),
  });
  const handle = ari;
  cleanups.push(() => handle.stop());
  // Registered before the first connect can complete (startAriApp returns at once).
  if (queues) cleanups.push(handle.app.onConnected(() => queues.attach()));
  cleanups.push(samplePbxLink(handle, metrics));
  if (queues) cleanups.push(() => queues.stop());
  return { port: handle, queues };
}

/** FreeSWITCH: the event socket and the audio-fork ingress; queues are FreeSWITCH's own (mod_callcenter, mod_fifo). */
async function startFreeSwitchPbx(config: Config, calls: CallLifecycle, audioPath: AudioPath, metrics: Metrics, logger: Logger, cleanups: Cleanups): Promise<StartedPbx> {
  if (config.queues.length > 0) {
    logger.warn({ queues: config.queues.map((q) => q.name) }, 'the built-in queues run on Asterisk only: on FreeSWITCH use mod_callcenter or mod_fifo (docs/freeswitch.md); these are ignored');
  }
  const fs = await startFreeSwitch({ config, calls, audioPath, logger });
  cleanups.push(() => fs.stop());
  observeForkIngress(metrics.registry, fs.ingress);
  cleanups.push(samplePbxLink(fs, metrics));
  return { port: fs, queues: null };
}

/** The link gauges: ser_pbx_connected / ser_pbx_reconnects_total, and their ARI names on Asterisk. */
function samplePbxLink(port: PbxPort, metrics: Metrics): () => void {
  let reconnectsSeen = 0;
  const sample = (): void => {
    const h = port.health();
    metrics.pbxConnected.set({ pbx: port.kind }, h.connected ? 1 : 0);
    if (h.reconnects > reconnectsSeen) metrics.pbxReconnects.inc({ pbx: port.kind }, h.reconnects - reconnectsSeen);
    if (port.kind === 'asterisk') {
      metrics.ariConnected.set(h.connected ? 1 : 0);
      if (h.reconnects > reconnectsSeen) metrics.ariReconnects.inc(h.reconnects - reconnectsSeen);
    }
    reconnectsSeen = h.reconnects;
  };
  sample();
  const timer = setInterval(sample, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { InferenceEngine } from '../inference/engine.js';
import { UsageError, parseCommand, positiveInteger, positiveNumber } from './usage.js';

const USAGE = `usage: ser-ari bench [--calls 50,100,200,300,400,500] [--seconds 20] [--warmup 6] [--workers N] [--json]

Runs N simulated calls for each N: real UDP on loopback, real-time pacing (the callers run in a child
process), the real model. Stops at the first N that is not sustained in real time.
  --calls     the steps: concurrent calls, comma-separated
  --seconds   measured seconds per step (after the warm-up)
  --warmup    seconds of load before each step is measured
  --workers   inference worker threads (default: model.workers of the config)
  --json      the results as JSON on stdout (the table goes to stderr)`;

export interface StepResult {
  calls: number;
  seconds: number;
  cpuPerCallPct: number;
  cpuTotalPct: number;
  inferMsPerWindowP50: number;
  inferMsPerWindowP99: number;
  batchMsP50: number;
  meanBatch: number;
  latencyMsP50: number;
  latencyMsP99: number;
  eventLoopDelayMsP99: number;
  updatesPerCallPerSec: number;
  packetsExpected: number;
  packetsLost: number;
  droppedWindows: number;
  sustained: boolean;
}

export async function benchCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    calls: { type: 'string', default: '50,100,200,300,400,500' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '6' },
    workers: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (parsed === null) return 0;
  const { values } = parsed;
  const steps = values.calls.split(',').map((c) => positiveInteger('--calls', c));
  const seconds = positiveNumber('--seconds', values.seconds);
  const warmup = Number(values.warmup);
  if (values.warmup.trim() === '' || !(warmup >= 0)) throw new UsageError(`--warmup wants a number of seconds (0 or more), got "${values.warmup}"`);
  // The service's modules load only once the arguments are known to be good.
  const [{ loadConfig }, { resolveDataPath }, { InferenceEngine }, { speechGateOption }] = await Promise.all([
    import('../config/load.js'),
    import('../config/paths.js'),
    import('../inference/engine.js'),
    import('../inference/gate-options.js'),
  ]);
  const { config } = loadConfig({});
  const workers = values.workers ? positiveInteger('--workers', values.workers) : config.model.workers;
  const portRange = benchPorts(config.rtp.ports, Math.max(...steps));
  const engine = await InferenceEngine.open({ ...config.model, workers, modelPath: resolveDataPath(config.model.path), speechGate: speechGateOption(config.audio) });
  const results: StepResult[] = [];
  const log = (s: string): void => void process.stderr.write(s + '\n');
  log(`model ${engine.card.name}, ${workers} inference worker(s), max batch ${config.model.maxBatch}, max wait ${config.model.maxWaitMs} ms`);
  log(header());
  try {
    for (const n of steps) {
      const r = await runStep(engine, n, seconds, warmup, portRange);
      results.push(r);
      log(row(r));
      if (!r.sustained) break;
    }
  } finally {
    await engine.close();
  }
  const best = results.filter((r) => r.sustained).at(-1);
  log(best ? `largest sustained: ${best.calls} concurrent calls` : 'no step was sustained');
  if (values.json) process.stdout.write(JSON.stringify({ workers, results, largestSustained: best?.calls ?? 0 }, null, 2) + '\n');
  return 0;
}

/**
 * The receivers' ports: SER_RTP_PORTS (rtp.ports) when set, e.g. where only that range is open;
 * otherwise from 41000, clear of a service running beside it on the default 40000-40999.
 */
function benchPorts(configured: string, calls: number): { min: number; max: number } {
  if (!process.env.SER_RTP_PORTS) return { min: 41000, max: 41000 + calls + 200 };
  const [min, max] = configured.split('-').map(Number) as [number, number];
  if (max - min + 1 < calls) throw new UsageError(`SER_RTP_PORTS ${configured} has ${max - min + 1} ports, fewer than the ${calls} calls asked for`);
  return { min, max };
}

async function runStep(engine: InferenceEngine, calls: number, seconds: number, warmup: number, range: { min: number; max: number }): Promise<StepResult> {
  const [{ PortPool }, { AudioPath }, { createLogger }] = await Promise.all([
    import('../rtp/port-pool.js'),
    import('../pipeline/audio-path.js'),
    import('../log/logger.js'),
  ]);
  const ports = new PortPool(range.min, range.max);
  const path = new AudioPath({
    engine,
    ports,
    rtpHost: '127.0.0.1',
    slin16PayloadType: 118,
    jitterPackets: 3,
    minSpeechRatio: 0.25,
    smoothing: 0.5,
    logger: createLogger('warn'),
  });
  const ids = Array.from({ length: calls }, (_, i) => `bench-${i}`);
  const targets: number[] = [];
  for (const id of ids) {
    const tap = await path.openCall(id, { expectedSource: { address: '127.0.0.1' } });
    if (!tap) throw new Error(`could not open call ${id}`);
    targets.push(tap.port);
  }
  const child = startLoad();
  child.send({ ports: targets, host: '127.0.0.1' });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  await sleep(warmup * 1000);

  const latencies: number[] = [];
  const perWindow: number[] = [];
  const batchMs: number[] = [];
  let batches = 0;
  let windowsInBatches = 0;
  let updates = 0;
  const onEmotion = (u: { speech: boolean; latencyMs: number }): void => {
    updates++;
    if (u.speech) latencies.push(u.latencyMs);
  };
  const onBatch = (b: { size: number; ms: number }): void => {
    batches++;
    windowsInBatches += b.size;
    batchMs.push(b.ms);
    for (let i = 0; i < b.size; i++) perWindow.push(b.ms / b.size);
  };
  const before = ids.map((id) => path.stats(id)!);
  path.on('emotion', onEmotion);
  engine.on('batch', onBatch);
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  eld.disable();
  path.off('emotion', onEmotion);
  engine.off('batch', onBatch);
  const after = ids.map((id) => path.stats(id)!);

  child.send('stop');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await path.close();

  let lost = 0;
  let received = 0;
  let dropped = 0;
  after.forEach((a, i) => {
    const b = before[i]!;
    lost += a.rtp!.lost - b.rtp!.lost + (a.rtp!.late - b.rtp!.late);
    received += a.rtp!.packets - b.rtp!.packets;
    dropped += a.pipeline.dropped - b.pipeline.dropped;
  });
  const cpuTotalPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const updatesPerCallPerSec = updates / calls / (wall / 1000);
  const latencyP99 = pct(latencies, 99);
  const result: StepResult = {
    calls,
    seconds: wall / 1000,
    cpuPerCallPct: cpuTotalPct / calls,
    cpuTotalPct,
    inferMsPerWindowP50: pct(perWindow, 50),
    inferMsPerWindowP99: pct(perWindow, 99),
    batchMsP50: pct(batchMs, 50),
    meanBatch: batches ? windowsInBatches / batches : 0,
    latencyMsP50: pct(latencies, 50),
    latencyMsP99: latencyP99,
    eventLoopDelayMsP99: eld.percentile(99) / 1e6,
    updatesPerCallPerSec,
    packetsExpected: received + lost,
    packetsLost: lost,
    droppedWindows: dropped,
    sustained: false,
  };
  result.sustained =
    latencyP99 < 300 && updatesPerCallPerSec >= 0.95 && dropped === 0 && result.packetsLost <= 0.005 * result.packetsExpected;
  return result;
}

function startLoad(): ChildProcess {
  const js = fileURLToPath(new URL('../bench/rtp-load.js', import.meta.url));
  if (existsSync(js)) return fork(js, [], { stdio: 'inherit' });
  const ts = fileURLToPath(new URL('../bench/rtp-load.ts', import.meta.url));
  return fork(ts, [], { stdio: 'inherit', execArgv: ['--import', 'tsx'] });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function header(): string {
  return 'calls  cpu/call  cpu total  infer ms/win p50/p99  mean batch  latency ms p50/p99  loop delay p99  updates/call/s  lost/expected  dropped  ok';
}

function row(r: StepResult): string {
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  return [
    String(r.calls).padStart(5),
    `${f(r.cpuPerCallPct, 2)}%`.padStart(9),
    `${f(r.cpuTotalPct, 0)}%`.padStart(10),
    `${f(r.inferMsPerWindowP50, 2)}/${f(r.inferMsPerWindowP99, 2)}`.padStart(21),
    f(r.meanBatch).padStart(11),
    `${f(r.latencyMsP50, 0)}/${f(r.latencyMsP99, 0)}`.padStart(19),
    `${f(r.eventLoopDelayMsP99)} ms`.padStart(15),
    f(r.updatesPerCallPerSec, 2).padStart(15),
    `${r.packetsLost}/${r.packetsExpected}`.padStart(14),
    String(r.droppedWindows).padStart(8),
    r.sustained ? ' yes' : ' NO',
  ].join(' ');
}

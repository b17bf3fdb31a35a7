import { AudioFileError } from '../audio/wav-file.js';
import type { Config } from '../config/schema.js';
import { DEMO_AGENTS, DEMO_SIM_AGENTS, DEMO_SUPERVISORS, loadDemoVoices, startDemoCallers, startFsDemoCallers, type DemoCallers, type DemoVoices } from '../service/demo.js';
import { UsageError, parseCommand, positiveNumber } from './usage.js';

const USAGE = `usage: ser-ari run [--config ser-ari.yaml] [--pbx asterisk|freeswitch] [--audio folder] [--seconds N]

The live service: taps the calls Asterisk hands to the Stasis app (or FreeSWITCH's ser::monitor hooks,
with freeswitch.host / SER_ESL_HOST set), scores the callers' emotion every second, runs the rules and
serves the console. With no switch configured (ari.url, SER_ARI_URL, freeswitch.host) it runs the demo:
a built-in simulated PBX with three demo callers.
  --config    YAML config file (environment variables SER_* override it)
  --pbx       demo only: which switch to simulate, asterisk (default) or freeswitch
  --audio     demo only: a folder of WAV files for the demo callers' speech (CREMA-D names pick clips)
  --seconds   stop after this many seconds (SIGINT/SIGTERM stop it at any time)`;

/**
 * `ser-ari run`: the live service. With no ARI URL configured it runs the demo: the built-in simulated
 * PBX with demo callers, the demo queue and rules, and the console.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, { config: { type: 'string' }, pbx: { type: 'string' }, audio: { type: 'string' }, seconds: { type: 'string' } });
  if (parsed === null) return 0;
  const { values } = parsed;
  const seconds = values.seconds === undefined ? null : positiveNumber('--seconds', values.seconds);
  const pbx = values.pbx ?? 'asterisk';
  if (pbx !== 'asterisk' && pbx !== 'freeswitch') throw new UsageError(`--pbx must be asterisk or freeswitch, got ${JSON.stringify(pbx)}`);
  // Armed before anything starts: --seconds and signals count from here, whatever start-up takes.
  const stop = stopRequest(seconds);
  try {
    // The service's modules load only once the arguments are known to be good.
    const [{ loadConfig }, { createLogger }, { redactUrl }, { startService }] = await Promise.all([
      import('../config/load.js'),
      import('../log/logger.js'),
      import('../ari/connection.js'),
      import('../service/service.js'),
    ]);
    const loaded = loadConfig(values.config ? { file: values.config } : {});
    const demo = loaded.config.ari.url === null && loaded.config.freeswitch.host === null;
    if (values.audio !== undefined && !demo) throw new UsageError('--audio is for the demo only, and a switch is configured');
    if (values.pbx !== undefined && !demo) throw new UsageError('--pbx is for the demo only, and a switch is configured');
    const voices = demo ? await demoVoices(values.audio ?? null) : null;
    const config = demo ? withDemoDefaults(loaded.config, pbx) : loaded.config;
    const logger = createLogger(config.log.level);
    const target = demo
      ? { pbx: `built-in simulated ${pbx === 'freeswitch' ? 'FreeSWITCH' : 'Asterisk'} (demo)` }
      : config.freeswitch.host !== null
        ? { pbx: 'freeswitch', esl: `${config.freeswitch.host}:${config.freeswitch.port}` }
        : { pbx: 'asterisk', ari: redactUrl(config.ari.url!), app: config.ari.app };
    logger.info({ configFile: loaded.source, ...target }, 'starting ser-ari');

    const service = await startService({ config, logger, simAgents: DEMO_SIM_AGENTS, ...(demo ? { simulate: pbx } : {}) });
    let callers: DemoCallers | null = null;
    try {
      if (service.sim && voices) callers = startDemoCallers(service.sim, logger, voices);
      if (service.fsSim && voices) callers = startFsDemoCallers(service.fsSim, logger, voices);
      logger.info({ console: service.consoleUrl }, `console: ${service.consoleUrl}`);
      process.stderr.write(`\nser-ari is running. Console: ${service.consoleUrl}${demo ? '  (demo: simulated PBX and callers)' : ''}\n\n`);
      const reason = await stop.requested;
      logger.info({ reason }, 'stopping');
      logger.info('shutting down');
    } finally {
      callers?.stop();
      await service.stop();
    }
    return 0;
  } finally {
    stop.dispose();
  }
}

async function demoVoices(folder: string | null): Promise<DemoVoices> {
  try {
    return await loadDemoVoices(folder);
  } catch (err) {
    if (err instanceof AudioFileError && folder !== null) throw new UsageError(`--audio ${err.message}`);
    throw err;
  }
}

/**
 * Resolves on SIGINT, SIGTERM or when `seconds` have passed. The handlers go in before the service
 * starts: whoever reads "ser-ari is running" may signal at once, and a signal that arrived before
 * them would take the default action (the process dies without stopping).
 */
function stopRequest(seconds: number | null): { requested: Promise<string>; dispose(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onSignal: (sig: NodeJS.Signals) => void = () => {};
  const requested = new Promise<string>((resolve) => {
    onSignal = (sig) => resolve(sig);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (seconds !== null) timer = setTimeout(() => resolve('--seconds elapsed'), seconds * 1000);
  });
  return {
    requested,
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The demo's queue (Asterisk only: FreeSWITCH queues callers itself) and rules, unless the config names its own. */
export function withDemoDefaults(config: Config, pbx: 'asterisk' | 'freeswitch' = 'asterisk'): Config {
  return {
    ...config,
    queues: config.queues.length > 0 || pbx === 'freeswitch' ? config.queues : [{ name: 'support', agents: DEMO_AGENTS, ringTimeoutSeconds: 15, retrySeconds: 5, moh: 'default', maxWaitSeconds: null }],
    rules: config.rules ?? 'config/rules.demo.yaml',
    targets: config.targets.supervisors.length > 0 ? config.targets : { ...config.targets, supervisors: DEMO_SUPERVISORS },
  };
}

import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import { redactUrl } from '../ari/connection.js';
import { positiveNumber } from './usage.js';
import { DEMO_AGENTS, DEMO_SIM_AGENTS, DEMO_SUPERVISORS, startDemoCallers, type DemoCallers } from '../service/demo.js';
import { startService } from '../service/service.js';

/**
 * `ser-ari run`: the live service. With no ARI URL configured it runs the demo: the built-in simulated
 * PBX with demo callers, the demo queue and rules, and the console.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, audio: { type: 'string' }, seconds: { type: 'string' } },
  });
  const seconds = values.seconds === undefined ? null : positiveNumber('--seconds', values.seconds);
  const loaded = loadConfig(values.config ? { file: values.config } : {});
  const demo = loaded.config.ari.url === null;
  const config = demo ? withDemoDefaults(loaded.config) : loaded.config;
  const logger = createLogger(config.log.level);
  logger.info({ configFile: loaded.source, ari: demo ? 'built-in simulator (demo)' : redactUrl(config.ari.url!), app: config.ari.app }, 'starting ser-ari');

  const service = await startService({ config, logger, simAgents: DEMO_SIM_AGENTS });
  let callers: DemoCallers | null = null;
  if (service.sim) callers = await startDemoCallers(service.sim, logger, values.audio ?? null);
  logger.info({ console: service.consoleUrl }, `console: ${service.consoleUrl}`);
  // The handlers go in before the announcement: whoever reads it may signal at once, and a signal
  // that arrives before them takes the default action (the process dies without stopping).
  let timer: NodeJS.Timeout | undefined;
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    if (seconds !== null) timer = setTimeout(() => resolve('--seconds elapsed'), seconds * 1000);
  });
  process.stderr.write(`\nser-ari is running. Console: ${service.consoleUrl}${demo ? '  (demo: simulated PBX and callers)' : ''}\n\n`);
  const signal = await stopRequested;
  // The --seconds timer would otherwise keep the process alive after a signal.
  clearTimeout(timer);
  logger.info({ reason: signal }, 'stopping');
  logger.info('shutting down');
  callers?.stop();
  await service.stop();
  return 0;
}

/** The demo's queue and rules, unless the config names its own. */
export function withDemoDefaults(config: Config): Config {
  return {
    ...config,
    queues: config.queues.length > 0 ? config.queues : [{ name: 'support', agents: DEMO_AGENTS, ringTimeoutSeconds: 15, retrySeconds: 5, moh: 'default', maxWaitSeconds: null }],
    rules: config.rules ?? 'config/rules.demo.yaml',
    targets: config.targets.supervisors.length > 0 ? config.targets : { ...config.targets, supervisors: DEMO_SUPERVISORS },
  };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { configSchema } from '../../src/config/schema.js';
import type { ActionEvent, SerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { MODEL } from '../helpers/paths.js';

export const AGENTS = ['PJSIP/1001', 'PJSIP/1002'];

export interface TestService {
  service: Service;
  events: SerEvent[];
  logs: string[];
}

/**
 * The whole service on the simulated PBX (as `ser-ari run` without Asterisk, minus the demo callers):
 * these rules, a queue `support` with two agents who answer after half a second, the console on a
 * free port, RTP ports from `rtpPorts`.
 */
export async function startTestService(rulesYaml: string, rtpPorts: string): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'ser-e2e-'));
  writeFileSync(join(dir, 'rules.yaml'), rulesYaml);
  const config = configSchema.parse({
    http: { port: 0 },
    rtp: { ports: rtpPorts },
    model: { path: MODEL },
    rules: join(dir, 'rules.yaml'),
    queues: [{ name: 'support', agents: AGENTS, ringTimeoutSeconds: 10 }],
    history: { path: ':memory:' },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const service = await startService({ config, logger: createLogger('info', sink), simAgents: AGENTS.map((endpoint) => ({ endpoint, behaviour: 'answer', answerAfterMs: 500 })) });
  const events: SerEvent[] = [];
  service.bus.subscribe((e) => events.push(e));
  return { service, events, logs };
}

export function actionsOf(events: SerEvent[], callId: string): ActionEvent[] {
  return events.filter((e): e is ActionEvent => e.type === 'action' && e.callId === callId);
}

/** Waits for `check`; on timeout fails with `what`, or with what `what()` says of the state then. */
export async function until(check: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${typeof what === 'string' ? what : what()}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

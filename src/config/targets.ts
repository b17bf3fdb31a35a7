import { SerError } from '../errors.js';
import type { ActionSpec } from '../policy/control.js';
import type { Config } from './schema.js';

type TransferTarget = Extract<ActionSpec, { kind: 'transfer' }>['target'];

/** A queue name as it may reach the dialplan (`queue-<name>` in ser-transfer): no separators. */
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Where a transfer may send a caller: the dialplan places (context + extension) and agent endpoints
 * listed in the config's `targets`, and every configured queue's agents. Nothing typed into a request
 * reaches the PBX as a destination unless it is listed here: a free extension is toll fraud on a real
 * PBX, a free endpoint rings a trunk.
 */
export class TargetAllowlist {
  readonly #dialplan: Set<string>;
  readonly #agents: Set<string>;
  readonly #supervisors: Set<string>;

  constructor(targets: { dialplan: readonly string[]; agents: readonly string[]; supervisors?: readonly string[] }) {
    this.#dialplan = new Set(targets.dialplan);
    this.#agents = new Set(targets.agents);
    this.#supervisors = new Set(targets.supervisors ?? []);
  }

  /** Endpoints a supervisor may listen in from (targets.supervisors), in config order. */
  get supervisors(): string[] {
    return [...this.#supervisors];
  }

  /** Null when `endpoint` may be rung to listen in, else why not. */
  checkSupervisor(endpoint: string): string | null {
    return this.#supervisors.has(endpoint) ? null : `${endpoint} is not listed in targets.supervisors`;
  }

  static fromConfig(config: Pick<Config, 'targets' | 'queues'>): TargetAllowlist {
    return new TargetAllowlist({
      dialplan: config.targets.dialplan,
      agents: [...config.targets.agents, ...config.queues.flatMap((q) => q.agents)],
      supervisors: config.targets.supervisors,
    });
  }

  /** Null when allowed, else why not. */
  check(target: TransferTarget): string | null {
    if ('queue' in target) return QUEUE_NAME.test(target.queue) ? null : 'a queue name is letters, digits, _ or - (at most 64)';
    if ('agent' in target) {
      return this.#agents.has(target.agent) ? null : `agent ${target.agent} is not listed in targets.agents or a queue's agents`;
    }
    const key = `${target.context},${target.extension}`;
    return this.#dialplan.has(key) ? null : `${key} is not listed in targets.dialplan`;
  }
}

/** Every transfer a rule can make must be allowed too: checked at load, so a bad target stops start-up. */
export function checkRuleTargets(rules: readonly { name: string; actions: readonly ActionSpec[] }[], targets: TargetAllowlist, file: string): void {
  const problems: string[] = [];
  for (const rule of rules) {
    for (const action of rule.actions) {
      if (action.kind !== 'transfer') continue;
      const why = targets.check(action.target);
      if (why !== null) problems.push(`  rule ${rule.name}: ${why}`);
    }
  }
  if (problems.length > 0) {
    throw new SerError('CONFIG_INVALID', `rules ${file} transfer to places the config does not allow (add them to targets):\n${problems.join('\n')}`);
  }
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

function load(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ser-queue-cfg-'));
  const file = join(dir, 'ser-ari.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ file, env: {} }).config;
}

describe('queues and ami config', () => {
  it('a queue needs only a name and agents; the rest has defaults; no queue and no AMI by default', () => {
    const c = load('queues:\n  - name: support\n    agents: [PJSIP/1001, PJSIP/1002]\n');
    expect(c.queues).toEqual([
      { name: 'support', agents: ['PJSIP/1001', 'PJSIP/1002'], ringTimeoutSeconds: 15, retrySeconds: 5, moh: 'default', maxWaitSeconds: null },
    ]);
    const d = configSchema.parse({});
    expect(d.queues).toEqual([]);
    expect(d.ami).toBeNull();
  });

  it('AMI needs user and secret; host, port and timeout default', () => {
    const c = load('ami:\n  user: ser\n  secret: s3cret\n');
    expect(c.ami).toEqual({ host: '127.0.0.1', port: 5038, user: 'ser', secret: 's3cret', timeoutMs: 5000 });
  });

  it.each([
    ['an agent that is not an endpoint', 'queues:\n  - name: support\n    agents: [1001]\n', /queues\.0\.agents\.0/],
    ['no agents', 'queues:\n  - name: support\n    agents: []\n', /queues\.0\.agents/],
    ['the same agent twice', 'queues:\n  - name: s\n    agents: [PJSIP/1, PJSIP/1]\n', /each agent listed once/],
    ['two queues of one name', 'queues:\n  - { name: s, agents: [PJSIP/1] }\n  - { name: s, agents: [PJSIP/2] }\n', /queue names must be unique/],
    ['a queue name Stasis args cannot carry', 'queues:\n  - { name: "sup port", agents: [PJSIP/1] }\n', /queues\.0\.name/],
    ['a ring timeout of zero', 'queues:\n  - { name: s, agents: [PJSIP/1], ringTimeoutSeconds: 0 }\n', /ringTimeoutSeconds/],
    ['an unknown queue key', 'queues:\n  - { name: s, agents: [PJSIP/1], strategy: ringall }\n', /strategy/],
    ['AMI without a secret', 'ami:\n  user: ser\n', /ami\.secret/],
  ])('EXPECTED FAILURE: %s is refused at load with the key named', (_what, yaml, key) => {
    expect(() => load(yaml)).toThrow(key);
  });
});

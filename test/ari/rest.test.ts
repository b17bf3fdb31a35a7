import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AriError, ariRequest, describeAriFailure, hasStatus } from '../../src/ari/rest.js';
import { ASTERISK } from '../helpers/paths.js';

interface Step {
  dir: string;
  method: string | null;
  path: string | null;
  status: number | null;
  body: unknown;
}

/** Every REST failure Asterisk returned in the recordings, as ari-client hands it to us: Error(body text). */
function recordedFailures(): Array<{ where: string; operation: string; status: number; err: Error }> {
  const dir = join(ASTERISK, 'recorded');
  const out: Array<{ where: string; operation: string; status: number; err: Error }> = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    for (const s of JSON.parse(readFileSync(join(dir, f), 'utf8')) as Step[]) {
      if (s.dir !== 'rest' || !s.status || s.status < 400 || typeof s.body !== 'object' || s.body === null) continue;
      if (s.path === '/ari/events') continue; // the websocket upgrade, not a REST call ari-client makes
      // ariRequest names an operation by method and the path's last word ('POST addChannel').
      const operation = `${s.method} ${(s.path ?? '').split('/').pop()}`;
      out.push({ where: `${f} ${s.method} ${s.path}`, operation, status: s.status, err: new Error(JSON.stringify(s.body)) });
    }
  }
  return out;
}

describe('describeAriFailure', () => {
  it('recovers the HTTP status of every failure recorded from Asterisk 22 from its body', () => {
    const failures = recordedFailures();
    expect(failures.length).toBeGreaterThan(15);
    for (const f of failures) expect({ where: f.where, status: describeAriFailure(f.err, f.operation).status }).toEqual({ where: f.where, status: f.status });
  });

  it('reads both body shapes ({"message"} and {"error"}) and leaves an unknown one without status', () => {
    expect(describeAriFailure(new Error('{"error": "Allocation failed"}'))).toEqual({ message: 'Allocation failed', status: 500 });
    expect(describeAriFailure(new Error('socket hang up'))).toEqual({ message: 'socket hang up', status: undefined });
  });
});

describe('ariRequest', () => {
  it('rejects with an AriError carrying status, method and id', async () => {
    const err = await ariRequest('POST variable', 'c-1', 1000, () => Promise.reject(new Error('{"message": "Channel not in Stasis application"}'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AriError);
    expect(err).toMatchObject({ code: 'ARI_REQUEST_FAILED', status: 409, method: 'POST variable', resource: 'c-1' });
    expect((err as Error).message).toContain('[method:POST variable, id:c-1, status:409]');
    expect(hasStatus(err, 404, 409)).toBe(true);
    expect(hasStatus(err, 404)).toBe(false);
  });

  it('rejects with ARI_TIMEOUT when Asterisk does not answer in time', async () => {
    const err = await ariRequest('GET channels', '*', 30, () => new Promise(() => undefined)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARI_TIMEOUT', status: undefined });
  });
});

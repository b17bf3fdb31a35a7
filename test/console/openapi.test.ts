import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { withDemoDefaults } from '../../src/cli/run.js';
import { API_ROUTES } from '../../src/console/api.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { DEMO_SIM_AGENTS } from '../../src/service/demo.js';
import { startService, type Service } from '../../src/service/service.js';
import { MODEL } from '../helpers/paths.js';
import { until } from '../e2e/support.js';
import { TOKEN, world, type World } from './support.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Exchange {
  path: string; // the documented path template
  method: 'get' | 'post';
  status: number;
  body: unknown;
}

/** Each documented operation, by "METHOD template". */
function operations(doc: Json): Array<{ template: string; method: string; op: Json }> {
  return Object.entries(doc.paths as Json).flatMap(([template, item]) => Object.entries(item as Json).map(([method, op]) => ({ template, method, op: op as Json })));
}

/** A path template with each `{param}` replaced, as a request path. */
const fill = (template: string, value = 'x'): string => template.replace(/\{[^}]+\}/g, value);

describe('issue 16: /api/openapi.json describes every /api route, and the real responses match it', () => {
  let service: Service;
  let other: World;
  let doc: Json;
  let callId: string;
  const seen: Exchange[] = [];
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);

  const call = async (base: string, template: string, method: 'get' | 'post', opts: { param?: string; body?: string; token?: string | null } = {}) => {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${fill(template, opts.param)}`, { method: method.toUpperCase(), headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    const body = (await res.json()) as unknown;
    seen.push({ path: template, method, status: res.status, body });
    return { status: res.status, body: body as Json, headers: res.headers };
  };

  beforeAll(async () => {
    const config = withDemoDefaults(configSchema.parse({ http: { port: 0, token: TOKEN }, rtp: { ports: '44980-44999' }, model: { path: MODEL } }));
    service = await startService({ config, logger: createLogger('silent'), simAgents: DEMO_SIM_AGENTS });
    const audio = new Float32Array(8000 * 5).map((_, i) => 0.2 * Math.sin(i / 4));
    callId = await service.sim!.placeCall({ number: '+15550199', name: 'OpenAPI caller', audio, loop: true, stasisArgs: ['monitor'] });
    await until(() => service.registry.get(callId) !== undefined, 15_000, 'the call in the registry');
    other = await world({ token: TOKEN }); // a console without a rule engine: commands answer 503
    const res = await fetch(`${service.consoleUrl}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await res.json()) as Json;
    ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
  }, 60_000);

  afterAll(async () => {
    await other?.server.close();
    await service?.stop();
  });

  it('is an OpenAPI 3.1 document with the bearer token as its security scheme, open itself', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/openapi.json'].get.security).toEqual([]);
    const ids = operations(doc).map((o) => o.op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents every route the server answers, and answers every documented route', () => {
    const documented = operations(doc).filter((o) => o.template !== '/api/openapi.json');
    for (const route of API_ROUTES) {
      const found = documented.find((o) => o.method.toUpperCase() === route.method && route.pattern.test(fill(o.template)));
      expect(found, `${route.method} ${route.pattern}`).toBeDefined();
    }
    for (const o of documented) {
      const found = API_ROUTES.find((r) => r.method === o.method.toUpperCase() && r.pattern.test(fill(o.template)));
      expect(found, `${o.method} ${o.template}`).toBeDefined();
    }
    expect(documented).toHaveLength(API_ROUTES.length);
  });

  it('calls every documented route on the running service; each answer has a documented status and matches its schema', async () => {
    const base = service.consoleUrl;
    await call(base, '/api/openapi.json', 'get', { token: null });
    await call(base, '/api/calls', 'get');
    const one = await call(base, '/api/calls/{callId}', 'get', { param: encodeURIComponent(callId) });
    expect(one.status).toBe(200);
    await call(base, '/api/calls/{callId}', 'get', { param: 'no-such-call' });
    await call(base, '/api/actions/pending', 'get');

    const sse = new AbortController();
    const stream = await fetch(`${base}/events/sse`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: sse.signal });
    expect(stream.status).toBe(200);
    const consumers = await call(base, '/api/stream/consumers', 'get');
    expect((consumers.body.consumers as unknown[]).length).toBeGreaterThan(0);
    sse.abort();

    const forced = await call(base, '/api/calls/{callId}/actions', 'post', { param: callId, body: JSON.stringify({ kind: 'setVars', vars: { SER_NOTE: 'checked' }, by: 'supervisor-1' }) });
    expect(forced.status).toBe(200);
    await call(base, '/api/calls/{callId}/actions', 'post', { param: callId, body: JSON.stringify({ kind: 'priority', add: 1 }) });
    await call(base, '/api/calls/{callId}/actions', 'post', { param: callId, body: '{"kind":"explode"}' });
    await call(base, '/api/calls/{callId}/actions', 'post', { param: callId, body: JSON.stringify({ kind: 'transfer', target: { context: 'from-internal', extension: '0019005550123' } }) });
    await call(base, '/api/calls/{callId}/actions', 'post', { param: 'no-such-call', body: JSON.stringify({ kind: 'hangup', cause: 'normal' }) });
    await call(base, '/api/calls/{callId}/actions', 'post', { param: callId, body: JSON.stringify({ kind: 'setVars', vars: { X: 'y'.repeat(20_000) } }) });
    // A forced hang-up with a warning is pending from the moment the warning starts until its grace ends.
    const hangup = call(base, '/api/calls/{callId}/actions', 'post', {
      param: callId,
      body: JSON.stringify({ kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-abuse-warning', graceSeconds: 600 }, by: 'supervisor-1' }),
    });
    await until(() => (service.rules?.pending(callId).length ?? 0) > 0, 10_000, 'the forced hang-up pending');
    const pending = await call(base, '/api/actions/pending', 'get');
    const actionId = (pending.body.pending as Array<{ actionId: string }>)[0]!.actionId;
    await hangup;
    await call(base, '/api/actions/pending', 'get');
    const cancelled = await call(base, '/api/actions/{actionId}/cancel', 'post', { param: actionId, body: JSON.stringify({ by: 'supervisor-1' }) });
    expect(cancelled.status).toBe(200);
    await call(base, '/api/actions/{actionId}/cancel', 'post', { param: 'no-such-action', body: JSON.stringify({ by: 'supervisor-1' }) });
    await call(base, '/api/actions/{actionId}/cancel', 'post', { param: 'no-such-action', body: JSON.stringify({ by: '' }) });
    await call(base, '/api/actions/{actionId}/cancel', 'post', { param: 'no-such-action', body: '{"by":"x"}'.padEnd(17_000) });
    await call(base, '/api/calls', 'get', { token: null });
    await call(base, '/api/calls', 'get', { token: 'wrong-token-0123456789' });
    await call(other.server.url, '/api/actions/{actionId}/cancel', 'post', { param: 'a1' });
    await call(other.server.url, '/api/calls/{callId}/actions', 'post', { param: 'c1', body: JSON.stringify({ kind: 'hangup', cause: 'normal' }) });

    const failures: string[] = [];
    for (const x of seen) {
      const op = doc.paths[x.path][x.method] as Json;
      let response = (op.responses as Json)[String(x.status)] as Json | undefined;
      if (response?.$ref) response = doc.components.responses[(response.$ref as string).split('/').pop()!] as Json;
      if (!response) {
        failures.push(`${x.method} ${x.path} answered ${x.status}, which is not documented`);
        continue;
      }
      const schema = JSON.parse(JSON.stringify(response.content['application/json'].schema).replaceAll('"#/components/', '"openapi#/components/')) as Json;
      const validate = ajv.compile(schema);
      if (!validate(x.body)) failures.push(`${x.method} ${x.path} ${x.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(x.body).slice(0, 300)}`);
    }
    expect(failures).toEqual([]);

    const called = new Set(seen.map((x) => `${x.method} ${x.path}`));
    expect([...called].sort()).toEqual(operations(doc).map((o) => `${o.method} ${o.template}`).sort());
    const statuses = new Set(seen.map((x) => `${x.method} ${x.path} ${x.status}`));
    const documented = operations(doc).flatMap((o) => Object.keys(o.op.responses as Json).map((s) => `${o.method} ${o.template} ${s}`));
    const unexercised = documented.filter((d) => !statuses.has(d));
    // Only the PBX refusing a valid action is not provoked here.
    expect(unexercised.filter((d) => !d.endsWith(' 502') && !/ 40[13]$/.test(d))).toEqual([]);
    expect(seen.filter((x) => x.status === 401 || x.status === 403).length).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

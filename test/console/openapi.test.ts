import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { withDemoDefaults } from '../../src/cli/run.js';
import { API_ROUTES } from '../../src/console/api.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { DEMO_SIM_AGENTS, DEMO_SUPERVISORS } from '../../src/service/demo.js';
import { startService, type Service } from '../../src/service/service.js';
import { MODEL } from '../helpers/paths.js';
import { until } from '../e2e/support.js';
import { TOKEN, world, type World } from './support.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Exchange {
  path: string; // the documented path template
  method: 'get' | 'post';
  status: number;
  /** The media type of the answer, without parameters. */
  type: string;
  /** Parsed for application/json, else the text. */
  body: unknown;
}

/** Each documented operation, by "METHOD template". */
function operations(doc: Json): Array<{ template: string; method: string; op: Json }> {
  return Object.entries(doc.paths as Json).flatMap(([template, item]) => Object.entries(item as Json).map(([method, op]) => ({ template, method, op: op as Json })));
}

/** A path template with each `{param}` replaced, as a request path. */
const fill = (template: string, value = 'x'): string => template.replace(/\{[^}]+\}/g, value);

/** RFC 4180 CSV (quoted cells with "" inside, CRLF rows) into rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += ch;
  }
  if (cell !== '' || row.length > 0) throw new Error(`CSV does not end with CRLF: ${JSON.stringify(text.slice(-80))}`);
  return rows;
}

describe('issue 16: /api/openapi.json describes every /api route, and the real responses match it', () => {
  let service: Service;
  let other: World;
  let doc: Json;
  let callId: string;
  let started: Date;
  const seen: Exchange[] = [];
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);

  /** One request; a JSON answer is parsed, any other (CSV, JSON lines) kept as text. `query` is appended as is. */
  const call = async (base: string, template: string, method: 'get' | 'post', opts: { param?: string; query?: string; body?: string; token?: string | null } = {}) => {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const url = `${base}${fill(template, opts.param)}${opts.query ? `?${opts.query}` : ''}`;
    const res = await fetch(url, { method: method.toUpperCase(), headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const text = await res.text();
    const body = type === 'application/json' ? (JSON.parse(text) as unknown) : text;
    seen.push({ path: template, method, status: res.status, type, body });
    return { status: res.status, type, text, body: body as Json, headers: res.headers };
  };

  /** A validator for a schema of the document (its `#/components/...` references resolved). */
  const validator = (schema: Json) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as Json);

  beforeAll(async () => {
    started = new Date(Date.now() - 1000);
    // The call history in memory: the default (data/ser-history.sqlite) would write into the checkout.
    const config = withDemoDefaults(
      configSchema.parse({ http: { port: 0, token: TOKEN }, rtp: { ports: '44980-44999' }, model: { path: MODEL }, history: { store: 'sqlite', path: ':memory:', flushMs: 200 } }),
    );
    expect(config.targets.supervisors).toEqual(DEMO_SUPERVISORS);
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
    expect(validator(doc.components.schemas.LiveCall)(one.body), 'a live call answers LiveCall').toBe(true);
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
    // Call history (docs/console.md "Call history"): a second call, with a forced action, a listen-in
    // and an alert, that ends: GET /api/calls/{callId} then answers it from the database.
    const audio = new Float32Array(8000 * 3).map((_, i) => 0.2 * Math.sin(i / 3));
    const ended = await service.sim!.placeCall({ number: '+15550142', name: 'Ended caller', audio, loop: true, stasisArgs: ['monitor'] });
    await until(() => service.registry.get(ended)?.lastEmotion != null, 20_000, 'an emotion update of the second call');
    const listened = await call(base, '/api/calls/{callId}/listen', 'post', { param: ended, body: JSON.stringify({ supervisor: DEMO_SUPERVISORS[0], spy: 'both', by: 'supervisor-2' }) });
    expect(listened.status, JSON.stringify(listened.body)).toBe(200);
    expect(listened.body).toEqual({ ok: true, supervisor: DEMO_SUPERVISORS[0], spy: 'both', by: 'supervisor-2' });
    const refused = await call(base, '/api/calls/{callId}/listen', 'post', { param: ended, body: JSON.stringify({ supervisor: 'PJSIP/0900123456@pstn' }) });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'TARGET_NOT_ALLOWED', key: 'supervisor' });
    expect((await call(base, '/api/calls/{callId}/listen', 'post', { param: ended, body: JSON.stringify({ supervisor: DEMO_SUPERVISORS[0], spy: 'whisper' }) })).body.error.key).toBe('spy');
    expect((await call(base, '/api/calls/{callId}/listen', 'post', { param: 'no-such-call', body: JSON.stringify({ supervisor: DEMO_SUPERVISORS[0] }) })).status).toBe(404);
    expect((await call(base, '/api/calls/{callId}/listen', 'post', { param: ended, body: JSON.stringify({ supervisor: 'x'.repeat(17_000) }) })).status).toBe(413);
    expect((await call(base, '/api/calls/{callId}/actions', 'post', { param: ended, body: JSON.stringify({ kind: 'setVars', vars: { SER_NOTE: 'history' }, by: 'supervisor-2' }) })).status).toBe(200);
    // No demo rule fires on a tone: the alert is published as the rule engine would.
    service.bus.publish({ type: 'alert', callId: ended, state: 'raised', rule: 'openapi-check', message: 'raised by the test' });
    const actions = await call(base, '/api/actions', 'get');
    expect((actions.body.actions as Array<{ callId: string; outcome: string }>).filter((a) => a.callId === ended).map((a) => a.outcome)).toEqual(['executed']);
    service.sim!.hangup(ended);
    await until(() => service.registry.get(ended) === undefined, 10_000, 'the second call gone from the registry');
    const past = await call(base, '/api/calls/{callId}', 'get', { param: encodeURIComponent(ended) });
    expect(past.status).toBe(200);
    expect(validator(doc.components.schemas.StoredCall)(past.body), 'an ended call answers StoredCall').toBe(true);
    expect(past.body.call).toMatchObject({ callId: ended, state: 'ended', callerName: 'Ended caller' });
    expect(past.body.history.timeline.length).toBeGreaterThan(0);
    expect(past.body.history.alerts).toEqual([expect.objectContaining({ rule: 'openapi-check', state: 'raised' })]);
    expect(past.body.history.actions.map((a: Json) => [a.kind, a.outcome, a.decidedBy])).toContainEqual(['setVars', 'executed', 'supervisor-2']);
    expect(past.body.history.audit).toEqual([expect.objectContaining({ actor: 'supervisor-2', what: 'listen', detail: { supervisor: DEMO_SUPERVISORS[0], spy: 'both', ok: true } })]);

    // History queries: every filter at once, the live ones, and bad values (400 naming the parameter).
    const filters = `state=ended&from=${encodeURIComponent(started.toISOString())}&to=${Math.ceil(Date.now() / 1000) + 60}&action=setVars:executed,*:cancelled&limit=10`;
    const history = await call(base, '/api/calls', 'get', { query: filters });
    expect(history.status).toBe(200);
    expect((history.body.calls as Json[]).map((c) => c.callId)).toEqual([ended]);
    const live = await call(base, '/api/calls', 'get', { query: 'state=live' });
    expect((live.body.calls as Json[]).map((c) => [c.callId, c.state])).toEqual([[callId, 'live']]);
    await call(base, '/api/calls', 'get', { query: 'emotion=ANG,sad&action=hangup' });
    for (const [q, key] of [['state=gone', 'state'], ['from=yesterday', 'from'], ['emotion=AN-G', 'emotion'], ['action=hangup:maybe', 'action'], ['limit=0', 'limit']] as const) {
      const bad = await call(base, '/api/calls', 'get', { query: q });
      expect([bad.status, bad.body.error?.key], q).toEqual([400, key]);
    }

    // The export, in both formats, of the same calls (ended ones: their rows no longer change).
    const csv = await call(base, '/api/export/calls', 'get', { query: 'format=csv&state=ended' });
    expect([csv.status, csv.type]).toEqual([200, 'text/csv']);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="ser-calls-.+\.csv"$/);
    const jsonl = await call(base, '/api/export/calls', 'get', { query: 'format=json&state=ended' });
    expect([jsonl.status, jsonl.type]).toEqual([200, 'application/x-ndjson']);
    const lines = jsonl.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.map((l) => l.call.callId)).toEqual([ended]);
    expect(lines[0]).toEqual(past.body);
    const [header, ...rows] = parseCsv(csv.text);
    expect(rows.map((r) => r[header!.indexOf('callId')])).toEqual([ended]);
    for (const [i, column] of header!.entries()) {
      const value = (lines[0]!.call as Json)[column] as unknown;
      const cell = value === null ? '' : String(value);
      // Documented: a text cell starting with = + - @ gets a ' (so the caller number +1555... does too).
      expect(rows[0]![i], column).toBe(/^[=+\-@]/.test(cell) && !/^-?\d/.test(cell) ? `'${cell}` : cell);
    }
    expect((await call(base, '/api/export/calls', 'get', { query: 'format=xml' })).body.error.key).toBe('format');
    expect((await call(base, '/api/export/calls', 'get', { query: 'format=json&limit=lots' })).body.error.key).toBe('limit');

    const rules = await call(base, '/api/rules', 'get');
    expect((rules.body.rules as Json[]).map((r) => r.name)).toContain('agent-abuse-flag');
    expect((await call(base, '/api/supervisors', 'get')).body).toEqual({ supervisors: DEMO_SUPERVISORS });
    // A console without history or listen-in (history.store: none, a PBX that cannot listen): 503.
    await call(other.server.url, '/api/calls', 'get', { query: 'state=ended' });
    await call(other.server.url, '/api/export/calls', 'get');
    await call(other.server.url, '/api/calls/{callId}/listen', 'post', { param: 'c1', body: JSON.stringify({ supervisor: 'PJSIP/2001' }) });
    await call(other.server.url, '/api/calls/{callId}', 'get', { param: 'c1' });
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
      const media = (response.content as Json)[x.type] as Json | undefined;
      if (!media) {
        failures.push(`${x.method} ${x.path} ${x.status} answered ${x.type}, not a documented media type (${Object.keys(response.content as Json).join(', ')})`);
        continue;
      }
      const where = `${x.method} ${x.path} ${x.status} ${x.type}`;
      if (x.type === 'application/json') {
        const validate = validator(media.schema as Json);
        if (!validate(x.body)) failures.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(x.body).slice(0, 300)}`);
      } else if (x.type === 'application/x-ndjson') {
        // Each line is one item (x-itemSchema: OpenAPI 3.2's itemSchema for sequential media types).
        const validate = validator(media['x-itemSchema'] as Json);
        const text = x.body as string;
        if (!text.endsWith('\n')) failures.push(`${where}: does not end with a newline`);
        for (const line of text.split('\n').slice(0, -1)) {
          if (!validate(JSON.parse(line))) failures.push(`${where}: ${ajv.errorsText(validate.errors)} in ${line.slice(0, 300)}`);
        }
      } else if (x.type === 'text/csv') {
        const columns = media['x-csv-columns'] as string[];
        const rowProps = doc.components.schemas.CallRow.properties as Json;
        const [header, ...rows] = parseCsv(x.body as string);
        if (JSON.stringify(header) !== JSON.stringify(columns)) failures.push(`${where}: header ${JSON.stringify(header)} is not the documented ${JSON.stringify(columns)}`);
        for (const c of columns) if (!(c in rowProps)) failures.push(`${where}: column ${c} is not a CallRow field`);
        for (const r of rows) if (r.length !== columns.length) failures.push(`${where}: a row of ${r.length} cells: ${JSON.stringify(r)}`);
      } else {
        failures.push(`${where}: no check for this media type`);
      }
    }
    expect(failures).toEqual([]);
    const shapes = new Set(seen.map((x) => `${x.method} ${x.path} ${x.status} ${x.type}`));
    for (const shape of ['get /api/export/calls 200 text/csv', 'get /api/export/calls 200 application/x-ndjson']) expect(shapes).toContain(shape);

    const called = new Set(seen.map((x) => `${x.method} ${x.path}`));
    expect([...called].sort()).toEqual(operations(doc).map((o) => `${o.method} ${o.template}`).sort());
    const statuses = new Set(seen.map((x) => `${x.method} ${x.path} ${x.status}`));
    const documented = operations(doc).flatMap((o) => Object.keys(o.op.responses as Json).map((s) => `${o.method} ${o.template} ${s}`));
    const unexercised = documented.filter((d) => !statuses.has(d));
    // Only the PBX refusing a valid action (or the supervisor not answering) is not provoked here.
    expect(unexercised.filter((d) => !d.endsWith(' 502') && !/ 40[13]$/.test(d))).toEqual([]);
    expect(seen.filter((x) => x.status === 401 || x.status === 403).length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});

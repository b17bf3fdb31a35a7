import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';
import { CSV_COLUMNS, HISTORY_PARAMS } from './api-history.js';

type Json = Record<string, unknown>;

const EVENTS_SCHEMA = resolve(PACKAGE_ROOT, 'docs/events.schema.json');

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const error = (description: string): Json => json(ref('Error'), description);
const param = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } });
const obj = (properties: Json, required = Object.keys(properties)): Json => ({ type: 'object', additionalProperties: false, required, properties });
const nullable = (schema: Json): Json => ({ oneOf: [schema, { type: 'null' }] });
const query = (name: string, description: string, schema: Json, extra: Json = {}): Json => ({ name, in: 'query', required: false, description, schema, ...extra });
const pbxRefused = (description: string): Json =>
  json(
    obj({
      ok: { const: false },
      error: obj({ code: { const: 'PBX_REFUSED' }, message: { type: 'string' }, status: { type: ['integer', 'null'], description: "Asterisk's HTTP status" } }),
    }),
    description,
  );
const HISTORY_UNAVAILABLE = 'HISTORY_UNAVAILABLE: no call history is kept (history.store: none)';

/**
 * The history filters of GET /api/calls and GET /api/export/calls (parseHistoryQuery in api-history.ts).
 * Kinds and outcomes of `action` are those of the action event.
 */
function historyParameters(events: Record<string, Json>, limitDefault: number): Json[] {
  const action = events.action!.properties as Record<string, { enum: string[] }>;
  const kinds = action.kind!.enum;
  const outcomes = action.outcome!.enum;
  const time = (edge: string): Json =>
    query(edge, `calls that started ${edge === 'from' ? 'at or after' : 'before'} this time: ISO 8601 (2026-05-01T10:00:00Z) or Unix seconds`, {
      anyOf: [{ type: 'string', format: 'date-time' }, { type: 'string', pattern: '^[0-9]+$', description: 'Unix seconds' }],
    });
  const params = [
    query('state', '`live`: calls still running (with PostgreSQL: of every instance); `ended`: calls that ended', { enum: ['live', 'ended'] }),
    time('from'),
    time('to'),
    query(
      'emotion',
      "the call's dominant emotion (highest mean over its classified seconds, running while live) is one of these labels, case-insensitive; comma-separated or repeated",
      { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z]{1,16}$' } },
      { style: 'form', explode: false },
    ),
    query(
      'action',
      `the call had an action of one of these kinds (\`*\`: any), optionally with an outcome: \`hangup\`, \`hangup:cancelled\`, \`*:suppressed\`; comma-separated or repeated`,
      { type: 'array', minItems: 1, items: { type: 'string', pattern: `^(\\*|${kinds.join('|')})(:(${outcomes.join('|')}))?$` } },
      { style: 'form', explode: false },
    ),
    query('limit', `at most this many calls, newest first (default ${limitDefault})`, { type: 'integer', minimum: 1, maximum: 10_000, default: limitDefault }),
  ];
  // api-history.ts decides what makes a history query: the same names, in the same order.
  if (params.map((p) => p.name).join() !== HISTORY_PARAMS.join()) throw new Error('openapi.ts: the history parameters differ from HISTORY_PARAMS');
  return params;
}

const AUTH_RESPONSES = {
  '401': { $ref: '#/components/responses/Unauthorized' },
  '403': { $ref: '#/components/responses/Forbidden' },
};

const SCHEMAS: Record<string, Json> = {
  Error: obj({
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable: match on it, not on the message' },
        message: { type: 'string' },
        key: { type: 'string', description: 'the request field at fault' },
      },
    },
  }),
  TimelinePoint: obj({
    ts: { type: 'string', format: 'date-time' },
    speech: { type: 'boolean' },
    negativity: { type: 'number', minimum: 0, maximum: 1 },
    probs: ref('probs'),
  }),
  CallHistory: obj({
    timeline: { type: 'array', items: ref('TimelinePoint'), description: 'smoothed scores, about one per second, the last console.historySeconds' },
    alerts: { type: 'array', items: ref('alert') },
    actions: { type: 'array', items: ref('action') },
  }),
  StreamConsumer: obj({
    id: { type: 'integer' },
    transport: { enum: ['ws', 'sse'] },
    filter: obj({
      callId: { type: ['array', 'null'], items: { type: 'string' } },
      queue: { type: ['array', 'null'], items: { type: 'string' } },
      type: { type: ['array', 'null'], items: { type: 'string' } },
    }),
    connectedAt: { type: 'string', format: 'date-time' },
    queued: { type: 'integer', minimum: 0 },
    delivered: { type: 'integer', minimum: 0 },
    dropped: { type: 'integer', minimum: 0 },
  }),
  By: { type: 'string', minLength: 1, maxLength: 64, description: 'who acted, kept in the audit trail (default "api")' },
  CallRow: {
    ...obj({
      callId: { type: 'string', minLength: 1, description: "the caller channel's id" },
      instance: { type: 'string', description: 'the ser-ari that took the call (history.instance)' },
      state: { enum: ['live', 'ended'] },
      channelName: { type: 'string' },
      callerNumber: { type: ['string', 'null'] },
      callerName: { type: ['string', 'null'] },
      mode: ref('callMode'),
      phase: { ...ref('callPhase'), description: 'the last phase' },
      queue: { type: ['string', 'null'] },
      context: { type: ['string', 'null'] },
      agent: { type: ['string', 'null'] },
      startedAt: { type: 'string', format: 'date-time' },
      endedAt: { ...nullable({ type: 'string', format: 'date-time' }), description: 'null while live' },
      endReason: { type: ['string', 'null'] },
      durationSeconds: { ...nullable({ type: 'number', minimum: 0 }), description: 'null while live, and for a call ser-ari stopped during (no summary)' },
      dominant: { type: ['string', 'null'], description: 'label with the highest mean over the classified seconds (running while live)' },
      peakNegativity: nullable({ type: 'number', minimum: 0, maximum: 1 }),
      actionsExecuted: { type: 'integer', minimum: 0 },
      summary: { ...nullable(ref('callSummary')), description: "the call.ended event's summary; null while live or when ser-ari stopped during the call" },
    }),
    description: 'a call as the history database keeps it (src/history/store.ts CallRow)',
  },
  AuditEntry: {
    ...obj({
      ts: { type: 'string', format: 'date-time' },
      callId: { type: 'string' },
      actor: { type: 'string', description: "the named token's supervisor, else the request's `by`, else \"api\"" },
      what: { enum: ['listen'], description: 'listen: a listen-in request' },
      detail: obj(
        {
          supervisor: { type: 'string' },
          spy: { enum: ['in', 'both'] },
          ok: { type: 'boolean' },
          error: { type: 'string', description: 'why the PBX refused' },
        },
        ['supervisor', 'spy', 'ok'],
      ),
    }),
    description: 'a supervisor command that is not an action',
  },
  StoredCallHistory: obj({
    timeline: { type: 'array', items: ref('TimelinePoint'), description: 'the whole call, one point per second' },
    alerts: { type: 'array', items: ref('alert') },
    actions: { type: 'array', items: ref('StoredAction'), description: 'every step of every action, oldest first' },
    audit: { type: 'array', items: ref('AuditEntry') },
  }),
  LiveCall: { ...obj({ call: ref('callSnapshot'), history: ref('CallHistory') }), description: 'a live call of this instance' },
  StoredCall: {
    ...obj({ call: ref('CallRow'), history: ref('StoredCallHistory') }),
    description: 'a call from the history database (ended, or live on another instance sharing a PostgreSQL history)',
  },
  Rule: obj({
    name: { type: 'string' },
    alert: { type: 'string', description: 'the alert text the rule raises' },
    readable: { type: 'string', description: 'the condition in words, e.g. "Anger/disgust above 75% and negativity above 85% for 20 s while speaking"' },
    syntax: { type: 'string', description: 'the condition as the rules file writes it, e.g. "ANG+DIS >= 0.75 (clears < 0.25) and ... for 20s"' },
    severity: { enum: [1, 2, 3], description: '3: it hangs up, 2: it moves the caller, 1: anything else' },
    shadow: { type: 'boolean', description: 'its actions are logged, not carried out' },
  }),
  ListenRequest: obj(
    {
      supervisor: { type: 'string', description: 'an endpoint listed in targets.supervisors, e.g. PJSIP/2001' },
      spy: { enum: ['in', 'both'], default: 'in', description: 'in: the caller only; both: the caller and whoever they talk to' },
      by: ref('By'),
    },
    ['supervisor'],
  ),
};

/** Every /api operation; `events` are the event schema's definitions (for the action kinds and outcomes). */
function paths(events: Record<string, Json>): Json {
  return {
    '/api/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This description',
        security: [],
        responses: { '200': json({ type: 'object', required: ['openapi', 'info', 'paths'] }, 'the OpenAPI 3.1 description of /api') },
      },
    },
    '/api/calls': {
      get: {
        operationId: 'listCalls',
        summary: 'Every live call, with its pending actions and active alerts; with a history parameter, calls from the history database',
        description:
          'Without any of the parameters below: the live calls of this instance (callSnapshot). With any of them (even alone): a history query, answered from the database (CallRow), newest first.',
        parameters: historyParameters(events, 100),
        responses: {
          '200': json(
            {
              anyOf: [
                { ...obj({ calls: { type: 'array', items: ref('callSnapshot') } }), description: 'no history parameter: the live calls' },
                { ...obj({ calls: { type: 'array', items: ref('CallRow') } }), description: 'any history parameter: the matching calls from the history database, newest first' },
              ],
            },
            'the live calls, or with a history parameter the stored ones (an empty list fits both)',
          ),
          '400': error('BAD_REQUEST: a bad history parameter (`key` names it)'),
          '503': error(`${HISTORY_UNAVAILABLE}; only for a history query`),
          ...AUTH_RESPONSES,
        },
      },
    },
    '/api/calls/{callId}': {
      get: {
        operationId: 'getCall',
        summary: 'One call: a live call and its recent history, else the call from the history database with its whole history',
        parameters: [param('callId', "the caller channel's id")],
        responses: {
          '200': json(
            { oneOf: [ref('LiveCall'), ref('StoredCall')] },
            'LiveCall when the call is live on this instance; otherwise StoredCall, from the history database (an ended call)',
          ),
          '404': error('UNKNOWN_CALL: no such call, live or in the history'),
          ...AUTH_RESPONSES,
        },
      },
    },
    '/api/calls/{callId}/listen': {
      post: {
        operationId: 'listenIn',
        summary: "Listen in: ring a supervisor's endpoint and bridge it to a snoop on the caller (audited with who asked)",
        parameters: [param('callId', "the caller channel's id")],
        requestBody: { required: true, content: { 'application/json': { schema: ref('ListenRequest') } } },
        responses: {
          '200': json(
            obj({ ok: { const: true }, supervisor: { type: 'string' }, spy: { enum: ['in', 'both'] }, by: { type: 'string', description: 'who asked, as the audit names them' } }),
            'the supervisor answered and is bridged',
          ),
          '400': error('BAD_REQUEST: not a JSON object, an unknown key, no `supervisor`, a bad `spy` or `by` (`key` names it)'),
          '403': error('TARGET_NOT_ALLOWED: the supervisor endpoint is not listed in targets.supervisors; FORBIDDEN, HOST_NOT_ALLOWED, CROSS_ORIGIN: see the 403 of the other routes'),
          '404': error('UNKNOWN_CALL: no live call with that id'),
          '413': error('BODY_TOO_LARGE: over 16 KiB'),
          '502': pbxRefused('the PBX refused, or the supervisor did not answer'),
          '503': error('LISTEN_UNAVAILABLE: this PBX connection cannot listen in'),
          '401': AUTH_RESPONSES['401'],
        },
      },
    },
    '/api/export/calls': {
      get: {
        operationId: 'exportCalls',
        summary: 'Export calls from the history database: CSV, or JSON lines with their whole history',
        parameters: [
          query('format', 'csv: one row per call (text/csv); json: JSON lines, one StoredCall per line (application/x-ndjson)', { enum: ['csv', 'json'], default: 'csv' }),
          ...historyParameters(events, 10_000),
        ],
        responses: {
          '200': {
            description: 'the matching calls, newest first, as an attachment (Content-Disposition: attachment; filename="ser-calls-<time>.csv|jsonl")',
            content: {
              'text/csv': {
                schema: {
                  type: 'string',
                  description: `format=csv: a header row, then one row per call; CRLF line ends; null is an empty cell; a text cell starting with = + - @ is prefixed with ' (not a formula). Columns (CallRow fields): ${CSV_COLUMNS.join(', ')}`,
                },
                'x-csv-columns': [...CSV_COLUMNS],
              },
              'application/x-ndjson': {
                schema: { type: 'string', description: 'format=json: one JSON object per line, each a StoredCall (as GET /api/calls/{callId} answers for an ended call)' },
                'x-itemSchema': ref('StoredCall'),
              },
            },
          },
          '400': error('BAD_REQUEST: a bad `format` or history parameter (`key` names it)'),
          '503': error(HISTORY_UNAVAILABLE),
          ...AUTH_RESPONSES,
        },
      },
    },
    '/api/rules': {
      get: {
        operationId: 'listRules',
        summary: 'The loaded rules, with their condition in words (empty without a rule engine)',
        responses: { '200': json(obj({ rules: { type: 'array', items: ref('Rule') } }), 'the rules'), ...AUTH_RESPONSES },
      },
    },
    '/api/supervisors': {
      get: {
        operationId: 'listSupervisors',
        summary: 'The endpoints a supervisor may listen in from (targets.supervisors)',
        responses: { '200': json(obj({ supervisors: { type: 'array', items: { type: 'string' } } }), 'the supervisor endpoints'), ...AUTH_RESPONSES },
      },
    },
    '/api/actions': {
      get: {
        operationId: 'listActions',
        summary: 'The latest event of every action of the live calls: what each action is now',
        responses: { '200': json(obj({ actions: { type: 'array', items: ref('action') } }), 'one action event per action, oldest first'), ...AUTH_RESPONSES },
      },
    },
    '/api/calls/{callId}/actions': {
      post: {
        operationId: 'forceAction',
        summary: 'Force an action on a live call (a supervisor decision, audited with `by`)',
        parameters: [param('callId', "the caller channel's id")],
        requestBody: {
          required: true,
          description: 'an action (docs/rules.md) and who forces it; transfer targets must be in the config\'s targets allowlist',
          content: { 'application/json': { schema: ref('ForceRequest') } },
        },
        responses: {
          '200': json(obj({ ok: { const: true } }), 'the PBX carried the action out'),
          '400': error('BAD_REQUEST: not JSON, an unknown key or a bad value (`key` names it)'),
          '403': error('TARGET_NOT_ALLOWED: a transfer target outside the allowlist; FORBIDDEN, HOST_NOT_ALLOWED, CROSS_ORIGIN: see the 403 of the other routes'),
          '404': error('UNKNOWN_CALL: no live call with that id'),
          '413': error('BODY_TOO_LARGE: over 16 KiB'),
          '502': pbxRefused('the PBX refused the action'),
          '503': error('ACTIONS_UNAVAILABLE: no rule engine is running'),
          '401': AUTH_RESPONSES['401'],
        },
      },
    },
    '/api/actions/pending': {
      get: {
        operationId: 'listPendingActions',
        summary: 'Actions waiting for their grace period (hang-ups after the warning, ...), every call',
        responses: { '200': json(obj({ pending: { type: 'array', items: ref('pendingAction') } }), 'the pending actions'), ...AUTH_RESPONSES },
      },
    },
    '/api/actions/{actionId}/cancel': {
      post: {
        operationId: 'cancelAction',
        summary: 'Cancel a pending action',
        parameters: [param('actionId', 'the actionId of a pending action')],
        requestBody: { required: false, content: { 'application/json': { schema: obj({ by: ref('By') }, []) } } },
        responses: {
          '200': json(obj({ cancelled: { const: true }, actionId: { type: 'string' } }), 'cancelled'),
          '400': error('BAD_REQUEST: not JSON, or a bad `by`'),
          '404': error('NOT_PENDING: unknown, already executed or cancelled'),
          '413': error('BODY_TOO_LARGE: over 16 KiB'),
          '503': error('ACTIONS_UNAVAILABLE: no rule engine is running'),
          ...AUTH_RESPONSES,
        },
      },
    },
    '/api/stream/consumers': {
      get: {
        operationId: 'listStreamConsumers',
        summary: 'The event-stream consumers connected now (/events, /events/sse) and how they keep up',
        responses: { '200': json(obj({ consumers: { type: 'array', items: ref('StreamConsumer') } }), 'the consumers'), ...AUTH_RESPONSES },
      },
    },
  };
}

/** The events schema's definitions (docs/events.schema.json), with their references moved to components. */
function eventDefinitions(): Record<string, Json> {
  const schema = JSON.parse(readFileSync(EVENTS_SCHEMA, 'utf8')) as { $defs: Record<string, unknown> };
  return JSON.parse(JSON.stringify(schema.$defs).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, Json>;
}

/** A stored action step: the action event, with who decided it. */
function storedAction(action: Json): Json {
  return {
    ...action,
    description: 'an action event from the history database, with who decided it',
    required: [...(action.required as string[]), 'decidedBy'],
    properties: {
      ...(action.properties as Json),
      decidedBy: { type: 'string', description: '`rule:<name>` for the rule engine, `system` for its own cancellations, `api` for an anonymous supervisor, else the supervisor\'s name' },
    },
  };
}

/** A forced action's body: any action spec, each with the optional `by`. */
function forceRequest(actionSpec: Json): Json {
  const variants = actionSpec.oneOf as Array<{ properties: Json }>;
  return { oneOf: variants.map((v) => ({ ...v, properties: { ...v.properties, by: ref('By') } })) };
}

let cached: string | null = null;

/**
 * The OpenAPI 3.1 description of /api (served at /api/openapi.json): every route, its parameters,
 * bodies and responses. The shapes of calls, actions and events are those of docs/events.schema.json.
 */
export function openApiText(): string {
  if (cached !== null) return cached;
  const events = eventDefinitions();
  cached = JSON.stringify({
    openapi: '3.1.0',
    info: {
      title: 'ser-ari console API',
      version: '1',
      description:
        'Live calls, their emotion history and the rule engine\'s actions; supervisor commands (force, cancel). Events stream on /events (WebSocket) and /events/sse (docs/events.md). Every refusal has the body {"error":{"code","message"}}.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    paths: paths(events),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The console token (http.token, SER_CONSOLE_TOKEN): `Authorization: Bearer <token>`. Required whenever a token is configured, which it must be when the console listens beyond loopback; a loopback console without a token does not check it.',
        },
      },
      responses: {
        Unauthorized: { ...error('UNAUTHORIZED: no bearer token (the answer carries `WWW-Authenticate: Bearer realm="ser-ari"`)') },
        Forbidden: error('FORBIDDEN: wrong bearer token; HOST_NOT_ALLOWED: a Host header not in console.allowedHosts; CROSS_ORIGIN: a request from another site'),
      },
      schemas: { ...events, ...SCHEMAS, ForceRequest: forceRequest(events.actionSpec!), StoredAction: storedAction(events.action!) },
    },
  });
  return cached;
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';

type Json = Record<string, unknown>;

const EVENTS_SCHEMA = resolve(PACKAGE_ROOT, 'docs/events.schema.json');

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const error = (description: string): Json => json(ref('Error'), description);
const param = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string', minLength: 1 } });
const obj = (properties: Json, required = Object.keys(properties)): Json => ({ type: 'object', additionalProperties: false, required, properties });

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
};

const PATHS: Json = {
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
      summary: 'Every live call, with its pending actions and active alerts',
      responses: { '200': json(obj({ calls: { type: 'array', items: ref('callSnapshot') } }), 'the live calls'), ...AUTH_RESPONSES },
    },
  },
  '/api/calls/{callId}': {
    get: {
      operationId: 'getCall',
      summary: "One live call and its recent history (timeline, alerts, actions)",
      parameters: [param('callId', "the caller channel's id")],
      responses: {
        '200': json(obj({ call: ref('callSnapshot'), history: ref('CallHistory') }), 'the call'),
        '404': error('UNKNOWN_CALL: no live call with that id'),
        ...AUTH_RESPONSES,
      },
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
        '502': json(
          obj({
            ok: { const: false },
            error: obj({ code: { const: 'PBX_REFUSED' }, message: { type: 'string' }, status: { type: ['integer', 'null'], description: "Asterisk's HTTP status" } }),
          }),
          'the PBX refused the action',
        ),
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

/** The events schema's definitions (docs/events.schema.json), with their references moved to components. */
function eventDefinitions(): Record<string, Json> {
  const schema = JSON.parse(readFileSync(EVENTS_SCHEMA, 'utf8')) as { $defs: Record<string, unknown> };
  return JSON.parse(JSON.stringify(schema.$defs).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, Json>;
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
    paths: PATHS,
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
      schemas: { ...events, ...SCHEMAS, ForceRequest: forceRequest(events.actionSpec!) },
    },
  });
  return cached;
}

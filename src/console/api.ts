import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { TargetAllowlist } from '../config/targets.js';
import { actionSpecSchema, type ActionSpec } from '../policy/action-schema.js';
import { exportCalls, isHistoryQuery, listenIn, listHistory, listRules, listSupervisors, storedCall, type HistoryDeps } from './api-history.js';
import { actorOf } from './auth.js';
import { callSnapshot, callSnapshots, type CallViews } from './call-view.js';
import { sendError, sendJson } from './http.js';
import type { EventStream } from './stream.js';

const MAX_BODY = 16 * 1024;

const actor = z.string().min(1).max(64);

export interface ApiDeps extends CallViews, HistoryDeps {
  stream: EventStream;
  logger: Logger;
  /** Where forced transfers may go; null accepts queue targets only. */
  targets: TargetAllowlist | null;
}

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  run(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, param: string): void | Promise<void>;
}

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/api\/calls$/, run: listCalls },
  { method: 'GET', pattern: /^\/api\/export\/calls$/, run: (d, req, res) => exportCalls(d, res, requestUrl(req)) },
  { method: 'GET', pattern: /^\/api\/rules$/, run: (d, _q, res) => listRules(d, res) },
  { method: 'GET', pattern: /^\/api\/supervisors$/, run: (d, _q, res) => listSupervisors(d, res) },
  { method: 'POST', pattern: /^\/api\/calls\/([^/]+)\/listen$/, run: listen },
  { method: 'GET', pattern: /^\/api\/calls\/([^/]+)$/, run: getCall },
  { method: 'GET', pattern: /^\/api\/actions$/, run: recentActions },
  { method: 'GET', pattern: /^\/api\/actions\/pending$/, run: (d, _q, res) => sendJson(res, 200, { pending: d.actions?.pending() ?? [] }) },
  { method: 'GET', pattern: /^\/api\/stream\/consumers$/, run: (d, _q, res) => sendJson(res, 200, { consumers: d.stream.stats() }) },
  { method: 'POST', pattern: /^\/api\/actions\/([^/]+)\/cancel$/, run: cancel },
  { method: 'POST', pattern: /^\/api\/calls\/([^/]+)\/actions$/, run: force },
];

/** Method and path pattern of every /api route handleApi answers (the OpenAPI test checks each is described). */
export const API_ROUTES: ReadonlyArray<{ method: string; pattern: RegExp }> = ROUTES.map(({ method, pattern }) => ({ method, pattern }));

/** Whether a request is a command (changes something) rather than a read. */
export function isCommand(req: IncomingMessage): boolean {
  return req.method !== 'GET' && req.method !== 'HEAD';
}

/** The /api routes (authentication is checked before). Unknown paths get 404, wrong methods 405. */
export async function handleApi(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const matching = ROUTES.filter((r) => r.pattern.test(url.pathname));
  if (matching.length === 0) return sendError(res, 404, 'NOT_FOUND', `no API route ${url.pathname}`);
  const route = matching.find((r) => r.method === req.method);
  if (!route) {
    res.setHeader('Allow', matching.map((r) => r.method).join(', '));
    return sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`);
  }
  let param: string;
  try {
    param = decodeURIComponent(route.pattern.exec(url.pathname)?.[1] ?? '');
  } catch {
    return sendError(res, 400, 'BAD_REQUEST', 'malformed percent-encoding in the path');
  }
  await route.run(deps, req, res, param);
}

/** The request's path and query (the route already matched its path). */
function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://console.invalid');
}

/** GET /api/calls: the live calls; with history filters (state, from, to, emotion, action), from the database. */
async function listCalls(deps: ApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = requestUrl(req);
  if (isHistoryQuery(url)) return listHistory(deps, res, url);
  sendJson(res, 200, { calls: callSnapshots(deps) });
}

async function listen(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, callId: string): Promise<void> {
  const body = await readBody(req, res);
  if (body === undefined) return;
  await listenIn(deps, req, res, callId, body);
}

async function getCall(deps: ApiDeps, _req: IncomingMessage, res: ServerResponse, callId: string): Promise<void> {
  const call = deps.registry.get(callId);
  // An ended call is answered from the history database, with its whole timeline.
  if (!call) {
    if (await storedCall(deps, res, callId)) return;
    return notFound(res, 'UNKNOWN_CALL', `no call ${callId}, live or in the history`);
  }
  sendJson(res, 200, { call: callSnapshot(deps, call), history: deps.history.view(call.callId) });
}

/** GET /api/actions: the latest event of every action of the live calls (their current outcome). */
function recentActions(deps: ApiDeps, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, { actions: deps.history.latestActions() });
}

async function cancel(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, actionId: string): Promise<void> {
  if (!deps.actions) return sendError(res, 503, 'ACTIONS_UNAVAILABLE', 'no rule engine is running: nothing can be cancelled');
  const body = await readBody(req, res);
  if (body === undefined) return;
  const by = body === null ? null : pickActor(body, res);
  if (by === undefined) return;
  // A named token (console.tokens) names the supervisor; "by" cannot claim to be someone else.
  const who = actorOf(req) ?? by ?? 'api';
  const callId = deps.actions.pending().find((p) => p.actionId === actionId)?.callId;
  if (!deps.actions.cancel(actionId, who)) {
    return notFound(res, 'NOT_PENDING', `action ${actionId} is not pending (unknown, already executed or cancelled)`);
  }
  deps.logger.info({ callId, actionId, by: who }, 'pending action cancelled through the API');
  sendJson(res, 200, { cancelled: true, actionId });
}

async function force(deps: ApiDeps, req: IncomingMessage, res: ServerResponse, callId: string): Promise<void> {
  if (!deps.actions) return sendError(res, 503, 'ACTIONS_UNAVAILABLE', 'no rule engine is running: actions cannot be forced');
  const body = await readBody(req, res);
  if (body === undefined) return;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return sendError(res, 400, 'BAD_REQUEST', 'the body must be a JSON object: an action such as {"kind":"hangup","cause":"normal"}');
  }
  const { by: rawBy, ...spec } = body as Record<string, unknown>;
  const by = pickActor({ by: rawBy }, res);
  if (by === undefined) return;
  const parsed = actionSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const unknownKey = issue.code === 'unrecognized_keys';
    const key = (unknownKey ? [...issue.path, issue.keys[0]] : issue.path).join('.') || 'kind';
    return sendError(res, 400, 'BAD_REQUEST', unknownKey ? `unknown key "${key}"` : `"${key}": ${issue.message}`, { key });
  }
  const action: ActionSpec = parsed.data;
  if (action.kind === 'transfer') {
    const refusal = transferRefusal(deps.targets, action.target);
    if (refusal !== null) return sendError(res, 403, 'TARGET_NOT_ALLOWED', refusal, { key: 'target' });
  }
  if (!deps.registry.get(callId)) return notFound(res, 'UNKNOWN_CALL', `no live call ${callId}`);
  const who = actorOf(req) ?? by ?? 'api';
  deps.logger.info({ callId, action: action.kind, by: who }, 'action forced through the API');
  const result = await deps.actions.force(callId, action, who);
  if (result.ok) return sendJson(res, 200, { ok: true });
  sendJson(res, 502, {
    ok: false,
    error: { code: 'PBX_REFUSED', message: result.error ?? 'the PBX refused the action', status: result.status ?? null },
  });
}

/** `by` names who acted (kept in the action's audit trail); undefined when it was invalid (400 sent). */
function pickActor(body: unknown, res: ServerResponse): string | null | undefined {
  const by = body !== null && typeof body === 'object' ? (body as { by?: unknown }).by : undefined;
  if (by === undefined || by === null) return null;
  const parsed = actor.safeParse(by);
  if (!parsed.success) {
    sendError(res, 400, 'BAD_REQUEST', '"by": a name of 1 to 64 characters', { key: 'by' });
    return undefined;
  }
  return parsed.data;
}

const NO_TARGETS = new TargetAllowlist({ dialplan: [], agents: [] });

function transferRefusal(targets: TargetAllowlist | null, target: Extract<ActionSpec, { kind: 'transfer' }>['target']): string | null {
  return (targets ?? NO_TARGETS).check(target);
}

function notFound(res: ServerResponse, code: string, message: string): void {
  sendError(res, 404, code, message);
}

/** The parsed JSON body, null when empty, undefined when refused (the error response is sent). */
async function readBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even when too large, so the refusal reaches a client still sending.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
  }
  if (size > MAX_BODY) {
    sendError(res, 413, 'BODY_TOO_LARGE', `the body exceeds ${MAX_BODY} bytes`);
    return undefined;
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    sendError(res, 400, 'BAD_REQUEST', 'the body is not valid JSON');
    return undefined;
  }
}

import { badRequest, conflict, notFound, NOT_IN_STASIS } from './errors.js';
import type { SimBridge, SimChannel } from './model.js';
import type { SimPbx } from './pbx.js';

export function channelOr404(pbx: SimPbx, id: string | undefined, message = 'Channel not found'): SimChannel {
  const ch = id === undefined ? undefined : pbx.channels.get(id);
  if (!ch) throw notFound(message);
  return ch;
}

export function inStasisOr409(ch: SimChannel): SimChannel {
  if (!ch.stasisApp) throw conflict(NOT_IN_STASIS);
  return ch;
}

export function bridgeOr404(pbx: SimPbx, id: string | undefined): SimBridge {
  const bridge = id === undefined ? undefined : pbx.bridges.get(id);
  if (!bridge) throw notFound('Bridge not found');
  return bridge;
}

/** ari-client sends allowMultiple parameters comma-joined. */
export function list(value: string | undefined): string[] {
  return value ? value.split(',').filter((s) => s.length > 0) : [];
}

export function required(query: Record<string, string>, name: string, message?: string): string {
  const value = query[name];
  if (value === undefined || value === '') throw badRequest(message ?? `Missing parameter ${name}`);
  return value;
}

export function intParam(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : fallback;
}

/** `"SER Test" <5551234>` or `5551234` or `SER Test <5551234>`. */
export function parseCallerId(value: string | undefined): { name: string; number: string } | null {
  if (!value) return null;
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(value);
  if (m) return { name: m[1] ?? '', number: m[2] ?? '' };
  return { name: '', number: value.trim() };
}

/** Channel variables from a JSON body `{"variables": {...}}`. */
export function bodyVariables(body: unknown): Record<string, string> {
  if (!body || typeof body !== 'object') return {};
  const vars = (body as { variables?: unknown }).variables;
  if (!vars || typeof vars !== 'object') return {};
  return Object.fromEntries(Object.entries(vars as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

export const ok = (body: unknown) => ({ status: 200, body });
export const noContent = () => ({ status: 204 });

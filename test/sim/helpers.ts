import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ariClient, { type Client } from 'ari-client';
import { ASTERISK } from '../helpers/paths.js';
import type { AriSimulator } from '../../src/sim/ari/index.js';

export type AriEvent = Record<string, unknown> & { type: string };

/**
 * ari-client's operations, called by their Swagger nicknames. Its bundled typings lag ARI (no
 * externalMedia `data`, some results typed void), so the tests use this looser view of the same client.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Op = (args?: Record<string, unknown>) => Promise<any>;
type Nickname =
  | 'list' | 'get' | 'create' | 'destroy' | 'originate' | 'hangup' | 'answer' | 'ring' | 'ringStop' | 'startMoh' | 'stopMoh'
  | 'play' | 'stop' | 'snoopChannel' | 'snoopChannelWithId' | 'createWithId' | 'externalMedia' | 'getChannelVar' | 'setChannelVar' | 'setChannelVars'
  | 'continueInDialplan' | 'redirect' | 'dial' | 'addChannel' | 'removeChannel' | 'subscribe' | 'unsubscribe'
  | 'getInfo' | 'ping' | 'getModule' | 'listByTech';
export type LooseAri = Record<'channels' | 'bridges' | 'applications' | 'playbacks' | 'endpoints' | 'asterisk', Record<Nickname, Op>>;

/** The real ari-client, connected to the simulator, with every event it parsed kept in order. */
export interface Connected {
  ari: LooseAri;
  client: Client;
  events: AriEvent[];
  /** Resolves with the first event (already received or future) matching `pred`. */
  waitFor(pred: (e: AriEvent) => boolean, timeoutMs?: number): Promise<AriEvent>;
  close(): void;
}

export async function connect(sim: AriSimulator, app = 'ser'): Promise<Connected> {
  const ari = await ariClient.connect(sim.url, sim.user, sim.password);
  const events: AriEvent[] = [];
  const waiters = new Set<{ pred: (e: AriEvent) => boolean; resolve: (e: AriEvent) => void }>();
  (ari as unknown as { on(event: string, fn: (e: unknown) => void): void }).on('*', (event: unknown) => {
    const e = event as AriEvent;
    events.push(e);
    for (const w of waiters) {
      if (w.pred(e)) {
        waiters.delete(w);
        w.resolve(e);
      }
    }
  });
  await ari.start(app);
  return {
    ari: ari as unknown as LooseAri,
    client: ari,
    events,
    waitFor(pred, timeoutMs = 5000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolvePromise, reject) => {
        const waiter = {
          pred,
          resolve: (e: AriEvent) => {
            clearTimeout(timer);
            resolvePromise(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => e.type).join(', ')}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close() {
      ari.stop();
    },
  };
}

/** The HTTP status and body of a REST call that ari-client rejected (it rejects with the body text). */
export async function refusal(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return JSON.parse((err as Error).message);
  }
  throw new Error('expected the call to be refused');
}

export const channelOf = (e: AriEvent) => (e['channel'] ?? e['peer']) as { id: string; name: string } | undefined;
export const isType = (type: string, channelId?: string) => (e: AriEvent) => e.type === type && (channelId === undefined || channelOf(e)?.id === channelId);

// ------------------------------------------------------------------ recordings and the normaliser

export interface Recorded {
  dir: 'rest' | 'event' | 'note';
  method: string | null;
  path: string | null;
  query: Record<string, string> | null;
  status: number | null;
  body: unknown;
  t: number;
}

export function recording(name: string): Recorded[] {
  return JSON.parse(readFileSync(resolve(ASTERISK, 'recorded', `${name}.json`), 'utf8')) as Recorded[];
}

export function recordedEvents(name: string): AriEvent[] {
  return recording(name)
    .filter((r) => r.dir === 'event')
    .map((r) => r.body as AriEvent);
}

/** One event as the comparison sees it: what happened (with the values that matter) and which fields it has. */
export interface Shape {
  what: string;
  keys: string;
  channelKeys: string;
}

function what(e: AriEvent): string {
  switch (e.type) {
    case 'ChannelVarset':
      return `ChannelVarset ${String(e['variable'])}`;
    case 'ChannelHangupRequest':
      return `ChannelHangupRequest cause=${String(e['cause'])}${e['soft'] ? ' soft' : ''}`;
    case 'ChannelDestroyed':
      return `ChannelDestroyed cause=${String(e['cause'])}`;
    case 'Dial':
      return `Dial ${String(e['dialstatus'])}`;
    case 'ChannelStateChange':
      return `ChannelStateChange ${String(channelOf(e)?.['state' as 'id'])}`;
    case 'StasisStart':
      return `StasisStart [${(e['args'] as string[]).join(',')}]`;
    default:
      return e.type;
  }
}

function roleKind(name: string): string {
  if (name.startsWith('Snoop/')) return 'snoop';
  if (name.startsWith('UnicastRTP/')) return 'em';
  return 'chan';
}

/**
 * Per-role event sequences: channels are named by kind (chan, snoop, em) and order of first
 * appearance, so that ids, names and timestamps drop out and the recorded Local channels compare
 * with the simulator's PJSIP callers. The far halves of Local channels (`;2`) are skipped (the
 * replays use PJSIP callers, which have none; local-half.test.ts compares them), and so are MOH
 * announcers, which the simulator does not have.
 */
export function byRole(events: AriEvent[]): Map<string, Shape[]> {
  const roles = new Map<string, string>();
  const counts = new Map<string, number>();
  const out = new Map<string, Shape[]>();
  for (const e of events) {
    const ch = channelOf(e);
    let role: string;
    if (ch) {
      if (ch.name.endsWith(';2') || ch.name.startsWith('Announcer/')) continue;
      let r = roles.get(ch.id);
      if (!r) {
        const kind = roleKind(ch.name);
        const n = counts.get(kind) ?? 0;
        counts.set(kind, n + 1);
        roles.set(ch.id, (r = `${kind}${n}`));
      }
      role = r;
    } else if (e['bridge']) role = 'bridge';
    else if (e['playback']) role = 'playback';
    else role = 'other';
    const shape: Shape = {
      what: what(e),
      keys: Object.keys(e).sort().join(','),
      channelKeys: ch ? Object.keys(ch).sort().join(',') : '',
    };
    if (!out.has(role)) out.set(role, []);
    out.get(role)!.push(shape);
  }
  return out;
}

export function rolesObject(events: AriEvent[]): Record<string, Shape[]> {
  return Object.fromEntries(byRole(events));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

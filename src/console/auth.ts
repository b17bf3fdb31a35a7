import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === 'ip6-localhost' || h === 'ip6-loopback') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

export type AuthResult = 'ok' | 'missing' | 'wrong';

/** A supervisor's own token (console.tokens): the audit names whoever's token was used. */
export interface NamedToken {
  name: string;
  token: string;
}

const actors = new WeakMap<IncomingMessage, string>();

/** The name of the named token a request was authenticated with; null for the unnamed token or none. */
export function actorOf(req: IncomingMessage): string | null {
  return actors.get(req) ?? null;
}

/**
 * Checks `Authorization: Bearer <token>` (or, where a browser cannot set headers — WebSocket and
 * EventSource — a `token` query parameter when `allowQuery`) against the unnamed token (http.token)
 * and the named ones (console.tokens). With no token configured everything is allowed: the server
 * then only listens on loopback.
 */
export class BearerAuth {
  readonly #digests: { digest: Buffer; name: string | null }[];

  constructor(token: string | null, named: readonly NamedToken[] = []) {
    this.#digests = [
      ...(token === null ? [] : [{ digest: sha256(token), name: null }]),
      ...named.map((t) => ({ digest: sha256(t.token), name: t.name })),
    ];
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  check(req: IncomingMessage, url: URL, allowQuery: boolean): AuthResult {
    if (this.#digests.length === 0) return 'ok';
    const header = req.headers.authorization;
    let presented: string | null = null;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      presented = m ? m[1]! : '';
    } else if (allowQuery) {
      presented = url.searchParams.get('token');
    }
    if (presented === null) return 'missing';
    // Hashing first gives equal lengths; every token is compared, so the time does not tell which matched.
    const digest = sha256(presented);
    let match: { name: string | null } | null = null;
    for (const d of this.#digests) if (timingSafeEqual(digest, d.digest) && match === null) match = d;
    if (match === null) return 'wrong';
    if (match.name !== null) actors.set(req, match.name);
    return 'ok';
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * A browser on another site may send requests to 127.0.0.1 too; refuse those that say so. Browsers
 * always send Origin on WebSocket handshakes and on cross-origin POSTs; tools like curl send none.
 */
export function isCrossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return true; // sandboxed frames, file:// pages
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isLoopbackHost } from './auth.js';

export interface HostGuardOptions {
  /** The address the console listens on (http.host). */
  listenHost: string;
  /** The port it listens on: browser origins of loopback and listen-host names must use it. */
  port: number;
  /**
   * Extra names the console may be reached by (console.allowedHosts): a reverse proxy's name, or the
   * machine's DNS name. `.example.com` allows every subdomain. Origins on these names may use any
   * scheme and port (a proxy on 443).
   */
  allowedHosts: readonly string[];
}

export type GuardResult = 'ok' | 'bad-host' | 'bad-origin';

/**
 * DNS rebinding defence. A page on attacker.example whose name is rebound to 127.0.0.1 talks to us
 * as a same-origin page would, but its requests carry `Host: attacker.example`; so the Host must be a
 * name we know (loopback names, the listen address, console.allowedHosts) or an IP literal, which no
 * rebinding can produce. Origin, when a browser sends one, must be one of ours on its own: comparing
 * it with the Host it came with proves nothing once the Host is the attacker's.
 */
export class HostGuard {
  readonly #listenHost: string;
  readonly #port: number;
  readonly #exact = new Set<string>();
  readonly #suffixes: string[] = [];

  constructor(opts: HostGuardOptions) {
    this.#listenHost = normalise(opts.listenHost);
    this.#port = opts.port;
    for (const h of opts.allowedHosts) {
      const n = normalise(h);
      if (n.startsWith('.')) this.#suffixes.push(n);
      else this.#exact.add(n);
    }
  }

  check(req: IncomingMessage): GuardResult {
    const host = parseHostHeader(req.headers.host);
    if (host === null || !this.#hostAllowed(host.name)) return 'bad-host';
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#originAllowed(origin, host.name)) return 'bad-origin';
    return 'ok';
  }

  #hostAllowed(name: string): boolean {
    return isIP(name) !== 0 || this.#ours(name) || this.#listed(name);
  }

  #ours(name: string): boolean {
    return isLoopbackHost(name) || (name === this.#listenHost && !isWildcard(name));
  }

  #listed(name: string): boolean {
    return this.#exact.has(name) || this.#suffixes.some((s) => name.endsWith(s));
  }

  #originAllowed(origin: string, requestHost: string): boolean {
    if (origin === 'null') return false; // sandboxed frames, file:// pages
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    const name = normalise(u.hostname);
    if (this.#listed(name)) return true;
    const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
    if (port !== this.#port) return false;
    // An IP-literal origin only when the page came from that very address (the console's own page).
    if (isIP(name) !== 0 && !isLoopbackHost(name)) return name === requestHost;
    return this.#ours(name);
  }
}

function normalise(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** `name[:port]` or `[v6][:port]`; null when absent or malformed. */
export function parseHostHeader(header: string | undefined): { name: string; port: number | null } | null {
  if (header === undefined || header === '') return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(header.trim());
  if (!m) return null;
  return { name: normalise(m[1]!), port: m[2] === undefined ? null : Number(m[2]) };
}

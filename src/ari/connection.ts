import ari, { type Client } from 'ari-client';
import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import { checkApiDocs } from './api-docs.js';
import { describeAriFailure } from './rest.js';
import { guardSwaggerClient } from './swagger-guard.js';

/*
 * swagger-client (inside ari-client) installs a global `log` that console.logs a "deprecated version
 * of Swagger" notice on every connect (a non-JSON line amid pino's JSON on stdout) and keeps every
 * message it was given for ever. Silenced here, once, after ari-client is loaded.
 */
const swaggerGlobals = globalThis as { log?: unknown };
if (typeof swaggerGlobals.log === 'function') swaggerGlobals.log = () => undefined;
guardSwaggerClient();

export interface AriConnectionOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Deadline for loading the API description (a host that accepts TCP but never answers). */
  connectTimeoutMs: number;
  logger: Logger;
}

export type AriConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

interface ConnectionEvents {
  /** The event websocket is open; `reconnect` is false the first time only. Reconcile on every one. */
  connected: [client: Client, reconnect: boolean];
  disconnected: [reason: string];
  state: [state: AriConnectionState];
}

/** Internals of ari-client's Client that a clean stop needs (its stop() misbehaves while connecting). */
interface ClientInternals {
  _ws?: { close(): void; terminate?(): void };
  _wsClosed?: boolean;
}

/**
 * One ARI connection: loads the API, opens the event websocket for the app, and keeps it open.
 * ari-client retries a dropped websocket by itself (10 times, 100 ms doubling); once it gives up, or
 * when the API cannot be loaded at all, this class starts over with its own backoff, for ever.
 * Credentials appear in the websocket URL, so errors are logged by message only, never by object.
 */
export class AriConnection extends EventEmitter<ConnectionEvents> {
  readonly #opts: AriConnectionOptions;
  readonly #log: Logger;
  #client: Client | null = null;
  #state: AriConnectionState = 'idle';
  #everConnected = false;
  #reconnects = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #lastError: string | null = null;

  constructor(opts: AriConnectionOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'ari-connection', ari: redactUrl(opts.url), user: opts.user, app: opts.app });
  }

  get client(): Client | null {
    return this.#state === 'connected' ? this.#client : null;
  }

  get state(): AriConnectionState {
    return this.#state;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  get lastError(): string | null {
    return this.#lastError;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#setState('stopped');
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dropClient();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#setState('connecting');
    let client: Client;
    try {
      await this.#preflight();
      client = await withDeadline(ari.connect(this.#opts.url, this.#opts.user, this.#opts.password), this.#opts.connectTimeoutMs);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.#stopped) {
      closeSocket(client);
      return;
    }
    this.#client = client;
    client.on('WebSocketConnected', () => {
      // ari-client may still open a socket from a reconnect it scheduled before we dropped the client.
      if (this.#client !== client || this.#stopped) {
        closeSocket(client);
        return;
      }
      const reconnect = this.#everConnected;
      if (reconnect) this.#reconnects++;
      this.#everConnected = true;
      this.#failures = 0;
      this.#lastError = null;
      this.#setState('connected');
      this.#log.info({ reconnects: this.#reconnects }, reconnect ? 'ARI websocket reconnected' : 'ARI websocket connected');
      this.emit('connected', client, reconnect);
    });
    client.on('WebSocketReconnecting', (err?: Error) => {
      if (this.#client !== client || this.#stopped) return;
      this.#lostSocket(err ? describeAriFailure(err).message : 'websocket closed');
    });
    client.on('WebSocketMaxRetries', (err?: Error) => {
      if (this.#client !== client || this.#stopped) return;
      this.#dropClient();
      this.#fail(err ?? new Error('websocket reconnect attempts exhausted'));
    });
    // Resolves on the first open only; failures arrive as the events above.
    client.start(this.#opts.app).catch(() => undefined);
  }

  /**
   * swagger-client (inside ari-client) throws from an HTTP callback when the API description answers
   * with an error status (401, 5xx) or with something that is not JSON (a proxy's HTML page, a cut-off
   * body): an uncaught exception that would take the process down. So the description is fetched and
   * checked here first (api-docs.ts), and ari-client only runs once Asterisk serves a usable one.
   */
  async #preflight(): Promise<void> {
    await checkApiDocs({ url: this.#opts.url, user: this.#opts.user, password: this.#opts.password, timeoutMs: this.#opts.connectTimeoutMs });
  }

  #lostSocket(reason: string): void {
    if (this.#state === 'connected') {
      this.#log.warn({ reason }, 'ARI websocket lost, reconnecting');
      this.#setState('disconnected');
      this.emit('disconnected', reason);
    }
  }

  get #stopped(): boolean {
    return this.#state === 'stopped';
  }

  #fail(err: unknown): void {
    if (this.#stopped) return;
    const { message, status } = describeAriFailure(err);
    const auth = status === 401 || /401|Unauthorized|Authentication/i.test(message);
    const code = auth ? 'ARI_AUTH_FAILED' : 'ARI_UNREACHABLE';
    const delay = Math.min(this.#opts.reconnectMaxMs, this.#opts.reconnectMinMs * 2 ** Math.min(this.#failures, 16));
    this.#failures++;
    // Log once per distinct failure, not once per retry.
    if (message !== this.#lastError) this.#log.error({ code, err: message, retryInMs: delay }, 'cannot connect to Asterisk ARI');
    this.#lastError = message;
    if (this.#everConnected && this.#state === 'connected') this.emit('disconnected', message);
    this.#setState('disconnected');
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, delay * (0.8 + Math.random() * 0.4));
  }

  #dropClient(): void {
    const client = this.#client;
    this.#client = null;
    if (client) closeSocket(client);
  }

  #setState(state: AriConnectionState): void {
    if (this.#state === state) return;
    if (this.#state === 'stopped') return;
    this.#state = state;
    this.emit('state', state);
  }
}

function closeSocket(client: Client): void {
  const internals = client as unknown as ClientInternals;
  // Mark the close as deliberate first, so ari-client does not schedule a reconnect from it.
  internals._wsClosed = true;
  try {
    if (internals._ws?.terminate) internals._ws.terminate();
    else internals._ws?.close();
  } catch {
    // a socket that never opened
  }
}

/** The ARI URL as it may appear in logs: without user info. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

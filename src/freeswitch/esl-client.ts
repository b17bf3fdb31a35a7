import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { SerError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { EslParser, parseEventBody, type EslMessage, type EslParserLimits } from './esl-parser.js';
import { typeEvent, type FsEvent } from './events.js';

/**
 * A client of FreeSWITCH's inbound event socket (mod_event_socket, default port 8021), ours rather
 * than `modesl` / `drachtio-modesl` (docs/freeswitch.md, "Why our own ESL client"): those keep reply
 * callbacks in a queue that survives a dropped connection, so after a reconnect the first reply goes
 * to the callback of a command sent on the dead connection, and they have no deadlines and no types.
 *
 * What it does, as the recordings show FreeSWITCH behaves (shared/freeswitch/README.md):
 * - connect, wait for `auth/request`, `auth <password>`: `+OK accepted`, or `-ERR invalid` followed by
 *   a disconnect notice and the close (ESL_AUTH_FAILED);
 * - after every (re)connect, the subscription again (`event json ...`: subscriptions are per
 *   connection, 05a), then `up`; the owner reconciles (calls and forks outlived the drop, 05a);
 * - `api()`, `bgapi()` (the result is the BACKGROUND_JOB event's body, matched by a Job-UUID we
 *   choose), `command()`; each with a deadline. Replies come strictly in command order, so a reply
 *   that misses its deadline keeps its place in the queue (its late answer is discarded); if it is
 *   still missing after a second deadline the connection is presumed stuck and dropped;
 * - a dropped connection rejects everything pending with ESL_DISCONNECTED and reconnects with
 *   exponential backoff (initialMs doubling to maxMs, jittered, reset once a connection is up).
 *
 * Events (listeners must be fast and must not throw; a throw is logged and dropped):
 * | event | when | payload |
 * | --- | --- | --- |
 * | up | authenticated and subscribed (first connect and every reconnect) | - |
 * | down | an authenticated connection closed | reason |
 * | reconnecting | before each wait of the backoff | attempt, delayMs |
 * | connect-error | an attempt failed (unreachable, refused auth, no auth/request in time) | SerError |
 * | event | a subscribed event arrived | FsEvent |
 * | disconnect-notice | `text/disconnect-notice` (exit, bad password, `fsctl shutdown`) | its body |
 */
export interface EslClientOptions {
  host: string;
  port: number;
  password: string;
  /** Sent as `event json <events> CUSTOM <custom>` after each authentication; nothing when absent. */
  subscribe?: { events: readonly string[]; custom?: readonly string[] };
  /** Deadline of each command (default 5000 ms); api/bgapi can override it per call. */
  requestTimeoutMs?: number;
  /** TCP connect + auth/request + auth + subscribe, per attempt (default 5000 ms). */
  connectTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  parser?: EslParserLimits;
  logger?: Logger;
}

export interface EslClientEvents {
  up: [];
  down: [reason: string];
  reconnecting: [info: { attempt: number; delayMs: number }];
  'connect-error': [err: SerError];
  event: [event: FsEvent];
  'disconnect-notice': [body: string];
}

export interface BgapiResult {
  jobUuid: string;
  /** The BACKGROUND_JOB body: `+OK <uuid>\n`, `-ERR NO_ROUTE_DESTINATION\n` ... */
  body: string;
}

export interface EslStats {
  connects: number;
  drops: number;
  timeouts: number;
  /** Replies that arrived after their deadline (discarded). */
  lateReplies: number;
  /** Event messages whose body did not parse. */
  badEvents: number;
  listenerErrors: number;
}

interface Pending {
  line: string;
  resolve(msg: EslMessage): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  abandoned: boolean;
}

interface Job {
  resolve(body: string): void;
  reject(err: Error): void;
}

/** An api body that reports a failure: -ERR, -USAGE, -ERROR (errors are in the body, not a header). */
export function isErrorReply(body: string): boolean {
  return body.startsWith('-ERR') || body.startsWith('-USAGE') || body.startsWith('-ERROR');
}

export class EslClient extends EventEmitter<EslClientEvents> {
  readonly #o: EslClientOptions;
  readonly #timeout: number;
  readonly #stats: EslStats = { connects: 0, drops: 0, timeouts: 0, lateReplies: 0, badEvents: 0, listenerErrors: 0 };
  #socket: Socket | null = null;
  #ready = false;
  #closed = false;
  #started = false;
  #queue: Pending[] = [];
  readonly #jobs = new Map<string, Job>();
  #onAuthRequest: (() => void) | null = null;
  #wake: (() => void) | null = null;
  #loopDone: Promise<void> = Promise.resolve();

  constructor(opts: EslClientOptions) {
    super();
    this.#o = opts;
    this.#timeout = opts.requestTimeoutMs ?? 5000;
  }

  /** True while authenticated and subscribed. */
  get connected(): boolean {
    return this.#ready;
  }

  get stats(): EslStats {
    return { ...this.#stats };
  }

  /**
   * Connects; resolves once the first attempt is authenticated and subscribed, rejects with that
   * attempt's SerError (ESL_UNREACHABLE, ESL_AUTH_FAILED). Either way it keeps (re)connecting in the
   * background until close().
   */
  start(): Promise<void> {
    if (this.#started) return Promise.reject(new Error('EslClient.start() called twice'));
    this.#started = true;
    let first: { resolve(): void; reject(err: Error): void } | null = null;
    const firstAttempt = new Promise<void>((resolve, reject) => (first = { resolve, reject }));
    this.#loopDone = this.#loop((err) => {
      const f = first;
      first = null;
      if (f) err ? f.reject(err) : f.resolve();
    });
    return firstAttempt;
  }

  /** `api <command>`: resolves the body (errors are in it: see isErrorReply), rejects ESL_TIMEOUT / ESL_DISCONNECTED. */
  async api(command: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const msg = await this.#request(`api ${command}`, opts.timeoutMs);
    return msg.body ?? '';
  }

  /** api() that rejects an error reply with ESL_REQUEST_FAILED (the reply is in the message). */
  async apiOk(command: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const body = await this.api(command, opts);
    if (isErrorReply(body)) throw new SerError('ESL_REQUEST_FAILED', `${body.trim()} [command:${verb(command)}]`);
    return body;
  }

  /**
   * `bgapi <command>` with a Job-UUID of ours; resolves when its BACKGROUND_JOB arrives (the
   * subscription must include BACKGROUND_JOB). The deadline covers the whole job.
   */
  bgapi(command: string, opts: { timeoutMs?: number; jobUuid?: string } = {}): Promise<BgapiResult> {
    const jobUuid = opts.jobUuid ?? randomUUID();
    const timeoutMs = opts.timeoutMs ?? this.#timeout;
    return new Promise<BgapiResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#jobs.delete(jobUuid);
        this.#stats.timeouts++;
        reject(new SerError('ESL_TIMEOUT', `no BACKGROUND_JOB within ${timeoutMs} ms [command:bgapi ${verb(command)}, job:${jobUuid}]`));
      }, timeoutMs);
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        this.#jobs.delete(jobUuid);
        fn();
      };
      this.#jobs.set(jobUuid, { resolve: (body) => settle(() => resolve({ jobUuid, body })), reject: (err) => settle(() => reject(err)) });
      this.#request(`bgapi ${command}`, timeoutMs, `Job-UUID: ${jobUuid}`).then(
        (reply) => {
          const text = reply.headers['Reply-Text'] ?? '';
          if (!text.startsWith('+OK')) this.#jobs.get(jobUuid)?.reject(new SerError('ESL_REQUEST_FAILED', `${text} [command:bgapi ${verb(command)}]`));
        },
        (err: Error) => this.#jobs.get(jobUuid)?.reject(err),
      );
    });
  }

  /** Any other command (`event json ...`, `noevents`, `filter ...`): resolves its Reply-Text. */
  async command(line: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const msg = await this.#request(line, opts.timeoutMs);
    return msg.headers['Reply-Text'] ?? '';
  }

  /** Sends `exit` (best effort), closes the socket, stops reconnecting; pending commands reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return this.#loopDone;
    this.#closed = true;
    this.#wake?.();
    const socket = this.#socket;
    if (socket && this.#ready) {
      await this.#request('exit', Math.min(this.#timeout, 1000)).catch(() => undefined);
    }
    socket?.destroy();
    this.#failAll('client closed');
    await this.#loopDone;
  }

  async #loop(settleFirst: (err?: Error) => void): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      let closedAfterUp: Promise<string> | null = null;
      try {
        closedAfterUp = (await this.#connectOnce()).ended;
        attempt = 0;
        this.#stats.connects++;
        this.#ready = true;
        settleFirst();
        this.#safeEmit('up');
      } catch (err) {
        const e = err instanceof SerError ? err : new SerError('ESL_UNREACHABLE', (err as Error).message, { cause: err });
        settleFirst(e);
        if (!this.#closed) {
          this.#o.logger?.warn({ code: e.code, err: e.message, host: this.#o.host, port: this.#o.port }, 'FreeSWITCH event socket: connection attempt failed');
          this.#safeEmit('connect-error', e);
        }
      }
      if (closedAfterUp) {
        const reason = await closedAfterUp;
        this.#ready = false;
        this.#stats.drops++;
        if (!this.#closed) this.#o.logger?.warn({ reason }, 'FreeSWITCH event socket connection lost');
        this.#safeEmit('down', reason);
      }
      if (this.#closed) break;
      attempt++;
      const initial = this.#o.backoff?.initialMs ?? 100;
      const max = this.#o.backoff?.maxMs ?? 5000;
      const delayMs = Math.round(Math.min(max, initial * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      this.#safeEmit('reconnecting', { attempt, delayMs });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delayMs);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** One attempt: resolves, once authenticated and subscribed, a promise of the connection's end (boxed: a promise would be adopted). */
  #connectOnce(): Promise<{ ended: Promise<string> }> {
    const { host, port, password } = this.#o;
    const where = `[host:${host}, port:${port}]`;
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.#socket = socket;
    const parser = new EslParser(this.#o.parser);
    let endReason = 'closed by FreeSWITCH';
    const ended = new Promise<string>((resolve) => {
      socket.on('close', () => {
        if (this.#socket === socket) {
          this.#socket = null;
          this.#failAll(endReason);
        }
        resolve(endReason);
      });
    });
    socket.on('error', (err) => {
      endReason = `socket error: ${(err as NodeJS.ErrnoException).code ?? err.message}`;
    });
    socket.on('data', (chunk) => {
      for (const msg of parser.push(chunk)) this.#onMessage(msg);
      if (parser.failure) {
        endReason = `unparseable stream: ${parser.failure}`;
        socket.destroy();
      }
    });
    const deadline = this.#o.connectTimeoutMs ?? 5000;
    return new Promise<{ ended: Promise<string> }>((resolve, reject) => {
      const timer = setTimeout(() => fail(new SerError('ESL_UNREACHABLE', `no authenticated connection within ${deadline} ms ${where}`)), deadline);
      let done = false;
      const fail = (err: SerError): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#onAuthRequest = null;
        socket.destroy();
        reject(err);
      };
      void ended.then((reason) => fail(new SerError('ESL_UNREACHABLE', `${reason} before the connection was ready ${where}`)));
      socket.once('error', (err) => fail(new SerError('ESL_UNREACHABLE', `${(err as NodeJS.ErrnoException).code ?? err.message} ${where}`, { cause: err })));
      this.#onAuthRequest = () => {
        this.#onAuthRequest = null;
        void (async () => {
          const reply = await this.#request(`auth ${password}`, deadline);
          const text = reply.headers['Reply-Text'] ?? '';
          if (!text.startsWith('+OK')) throw new SerError('ESL_AUTH_FAILED', `FreeSWITCH refused the event socket password (${text}) ${where}`);
          const sub = this.#o.subscribe;
          if (sub && (sub.events.length > 0 || (sub.custom?.length ?? 0) > 0)) {
            const words = [...sub.events, ...(sub.custom?.length ? ['CUSTOM', ...sub.custom] : [])];
            const ok = await this.#request(`event json ${words.join(' ')}`, deadline);
            const t = ok.headers['Reply-Text'] ?? '';
            if (!t.startsWith('+OK')) throw new SerError('ESL_REQUEST_FAILED', `${t} [command:event json]`);
          }
        })().then(
          () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve({ ended });
          },
          (err: Error) => fail(err instanceof SerError ? err : new SerError('ESL_UNREACHABLE', `${err.message} ${where}`, { cause: err })),
        );
      };
    });
  }

  #request(line: string, timeoutMs = this.#timeout, extraHeader?: string): Promise<EslMessage> {
    if (/[\r\n]/.test(line)) {
      return Promise.reject(new SerError('ESL_REQUEST_FAILED', `a command must be one line (a line break would start another command) [command:${verb(line)}]`));
    }
    const socket = this.#socket;
    const authing = line.startsWith('auth ') || line.startsWith('event ');
    if (!socket || (!this.#ready && !authing && line !== 'exit') || socket.destroyed) {
      return Promise.reject(new SerError('ESL_DISCONNECTED', `not connected to FreeSWITCH [command:${verb(line)}]`));
    }
    return new Promise<EslMessage>((resolve, reject) => {
      const entry: Pending = {
        line,
        resolve,
        reject,
        abandoned: false,
        timer: setTimeout(() => {
          entry.abandoned = true;
          this.#stats.timeouts++;
          reject(new SerError('ESL_TIMEOUT', `no reply within ${timeoutMs} ms [command:${verb(line)}]`));
          // Replies come in order: if this one never comes, every later command would wait behind it.
          entry.timer = setTimeout(() => {
            if (this.#queue.includes(entry) && this.#socket === socket) {
              this.#o.logger?.warn({ command: verb(line) }, 'FreeSWITCH event socket stuck (a reply is missing after two deadlines): reconnecting');
              socket.destroy();
            }
          }, timeoutMs);
        }, timeoutMs),
      };
      this.#queue.push(entry);
      socket.write(extraHeader ? `${line}\n${extraHeader}\n\n` : `${line}\n\n`);
    });
  }

  #onMessage(msg: EslMessage): void {
    const type = msg.headers['Content-Type'];
    if (type === 'command/reply' || type === 'api/response') {
      const entry = this.#queue.shift();
      if (!entry) return;
      clearTimeout(entry.timer);
      if (entry.abandoned) this.#stats.lateReplies++;
      else entry.resolve(msg);
      return;
    }
    if (type === 'auth/request') {
      this.#onAuthRequest?.();
      return;
    }
    if (type === 'text/disconnect-notice') {
      this.#safeEmit('disconnect-notice', msg.body ?? '');
      return;
    }
    if (type === 'text/event-json' || type === 'text/event-plain') {
      const raw = parseEventBody(msg);
      if (!raw) {
        this.#stats.badEvents++;
        return;
      }
      const event = typeEvent(raw);
      if (event.type === 'BACKGROUND_JOB') this.#jobs.get(event.jobUuid)?.resolve(event.body);
      this.#safeEmit('event', event);
    }
  }

  #failAll(reason: string): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const entry of queue) {
      clearTimeout(entry.timer);
      if (!entry.abandoned) entry.reject(new SerError('ESL_DISCONNECTED', `${reason} while waiting for the reply [command:${verb(entry.line)}]`));
    }
    for (const [jobUuid, job] of this.#jobs) job.reject(new SerError('ESL_DISCONNECTED', `${reason} before BACKGROUND_JOB [job:${jobUuid}]`));
  }

  #safeEmit<K extends keyof EslClientEvents>(name: K, ...args: EslClientEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: EslClientEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      this.#stats.listenerErrors++;
      this.#o.logger?.error({ event: name, err: (err as Error).message }, 'an ESL event listener threw');
    }
  }
}

/** The first two words of a command, for error context (never the password or a whole URL with its token). */
function verb(line: string): string {
  if (line.startsWith('auth ')) return 'auth';
  return line.split(' ').slice(0, 2).join(' ');
}

import AmiClient, { type AmiMessage } from 'asterisk-ami-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { SerError } from '../errors.js';
import type { PbxResult } from '../pbx/types.js';

export type AmiConfig = NonNullable<Config['ami']>;

/** Same shape as src/ari/call-control.ts AmiPriorityPort: the app_queue side of CallControl.setPriority. */
export interface AmiPriorityPort {
  setPriority(call: { callId: string; channelName: string; queue: string | null }, priority: number): Promise<PbxResult>;
}

export interface AmiPriority extends AmiPriorityPort {
  readonly connected: boolean;
  /** Resolves once logged in; rejects with AMI_AUTH_FAILED or AMI_UNREACHABLE for this attempt (retries go on). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface AmiPriorityOptions {
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

/**
 * The optional AMI connection for sites that keep Asterisk's app_queue. ARI has no app_queue API,
 * and a caller waiting in Queue() is outside Stasis (variables are refused), so a live priority
 * change goes through AMI: `QueueChangePriorityCaller` with `Immediate: yes` moves the caller in
 * the queue at once instead of at its next position announcement.
 *
 * The connection is kept up with backoff. The secret is never logged. Our own ActionIDs are used:
 * the library's default (`Date.now()`) gives two actions sent in the same millisecond the same id.
 */
export class AmiPriorityClient implements AmiPriority {
  readonly #cfg: AmiConfig;
  readonly #log: Logger;
  readonly #minMs: number;
  readonly #maxMs: number;
  #client: AmiClient | null = null;
  #connecting: Promise<void> | null = null;
  #connected = false;
  #closed = false;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #seq = 0;
  #lastError: string | null = null;

  constructor(cfg: AmiConfig, logger: Logger, opts: AmiPriorityOptions = {}) {
    this.#cfg = cfg;
    this.#log = logger.child({ component: 'ami', host: cfg.host, port: cfg.port, user: cfg.user });
    this.#minMs = opts.reconnectMinMs ?? 1000;
    this.#maxMs = opts.reconnectMaxMs ?? 30_000;
  }

  get connected(): boolean {
    return this.#connected;
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new SerError('AMI_UNREACHABLE', 'AMI connection closed'));
    if (this.#connected) return Promise.resolve();
    return this.#connect();
  }

  async setPriority(call: { callId: string; channelName: string; queue: string | null }, priority: number): Promise<PbxResult> {
    if (!call.queue) return { ok: false, error: `the call is in no known app_queue queue [action:QueueChangePriorityCaller, id:${call.callId}]` };
    const action: AmiMessage = {
      Action: 'QueueChangePriorityCaller',
      ActionID: `ser-${process.pid}-${++this.#seq}`,
      Queue: call.queue,
      Caller: call.channelName,
      Priority: String(Math.trunc(priority)),
      Immediate: 'yes',
    };
    const ctx = `[action:QueueChangePriorityCaller, queue:${call.queue}, channel:${call.channelName}, id:${call.callId}]`;
    try {
      await this.ready();
      const response = await this.#send(action);
      if (String(response.Response).toLowerCase() !== 'success') {
        const message = response.Message ?? 'no message';
        this.#log.warn({ callId: call.callId, queue: call.queue, channel: call.channelName, message }, 'AMI refused the priority change');
        return { ok: false, error: `AMI_ACTION_FAILED: ${message} ${ctx}` };
      }
      this.#log.info({ callId: call.callId, queue: call.queue, priority }, 'app_queue priority changed over AMI');
      return { ok: true };
    } catch (err) {
      const code = err instanceof SerError ? err.code : 'AMI_ACTION_FAILED';
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, error: `${code}: ${message} ${ctx}` };
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#connecting?.catch(() => undefined);
    this.#drop();
  }

  /** Starts the connection and keeps it up; the first failure is logged, the retries quietly. */
  start(): void {
    void this.#connect().catch(() => undefined);
  }

  #connect(): Promise<void> {
    if (this.#connecting) return this.#connecting;
    const client = new AmiClient({ reconnect: false, keepAlive: true, keepAliveDelay: 15_000, emitEventsByTypes: false });
    client.on('internalError', (err: Error) => this.#log.debug({ err: err.message }, 'AMI socket error'));
    this.#connecting = client
      .connect(this.#cfg.user, this.#cfg.secret, { host: this.#cfg.host, port: this.#cfg.port })
      .then(async () => {
        if (this.#closed) {
          client.disconnect();
          throw new SerError('AMI_UNREACHABLE', 'AMI connection closed');
        }
        this.#client = client;
        this.#connected = true;
        this.#failures = 0;
        this.#lastError = null;
        client.once('disconnect', () => this.#onDisconnect(client));
        this.#log.info('AMI connected');
        // Only responses are read: ask Asterisk not to stream every event of the PBX to us.
        await this.#send({ Action: 'Events', ActionID: `ser-${process.pid}-${++this.#seq}`, EventMask: 'off' }).catch(() => undefined);
      })
      .catch((err: unknown) => {
        const serr = toAmiError(err, this.#cfg);
        if (serr.message !== this.#lastError) this.#log.error({ code: serr.code, err: serr.message }, 'AMI connection failed; retrying');
        this.#lastError = serr.message;
        this.#failures++;
        this.#scheduleReconnect();
        throw serr;
      })
      .finally(() => {
        this.#connecting = null;
      });
    return this.#connecting;
  }

  #onDisconnect(client: AmiClient): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#connected = false;
    if (this.#closed) return;
    this.#log.warn('AMI connection lost; reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return;
    const delay = Math.min(this.#maxMs, this.#minMs * 2 ** Math.max(0, this.#failures - 1));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#connected && !this.#closed) void this.#connect().catch(() => undefined);
    }, delay);
    this.#timer.unref();
  }

  async #send(action: AmiMessage): Promise<AmiMessage> {
    const client = this.#client;
    if (!client) throw new SerError('AMI_UNREACHABLE', 'AMI is not connected');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SerError('AMI_ACTION_FAILED', `no answer within ${this.#cfg.timeoutMs} ms`)), this.#cfg.timeoutMs);
    });
    try {
      return await Promise.race([client.action(action, true), deadline]);
    } catch (err) {
      if (err instanceof SerError) throw err;
      throw new SerError('AMI_UNREACHABLE', err instanceof Error ? err.message : String(err), { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  #drop(): void {
    const client = this.#client;
    this.#client = null;
    this.#connected = false;
    client?.disconnect();
  }
}

/** The integrator's entry: null when `ami` is not configured; otherwise connecting in the background. */
export function connectAmiPriority(cfg: Config['ami'], logger: Logger, opts?: AmiPriorityOptions): AmiPriority | null {
  if (!cfg) return null;
  const client = new AmiPriorityClient(cfg, logger, opts);
  client.start();
  return client;
}

function toAmiError(err: unknown, cfg: AmiConfig): SerError {
  if (err instanceof SerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const where = `[host:${cfg.host}, port:${cfg.port}, user:${cfg.user}]`;
  // asterisk-ami-connector raises AmiAuthError both for a refused login and for a socket closed during login.
  // (its `name` is the class itself, not a string, so the constructor is what identifies it)
  if (err instanceof Error && err.constructor.name === 'AmiAuthError') return new SerError('AMI_AUTH_FAILED', `${message.replace(/^AMI message: /, '')} ${where}`, { cause: err });
  if (/Authentication|auth/i.test(message)) return new SerError('AMI_AUTH_FAILED', `${message} ${where}`, { cause: err });
  return new SerError('AMI_UNREACHABLE', `${message || 'connection failed'} ${where}`, { cause: err });
}

import { EventEmitter } from 'eventemitter3';
import type { Logger } from '../log/logger.js';
import type { EslClient } from './esl-client.js';
import { isErrorReply } from './esl-client.js';
import type { FsEvent } from './events.js';
import type { ForkIngress, ForkSink } from './fork-ingress.js';

/**
 * The monitor mode on FreeSWITCH (the adapter, adapter.ts, turns its events into the call lifecycle): the
 * dialplan fires `event(Event-Subclass=ser::monitor,Event-Name=CUSTOM,...)` and carries on; on that
 * event we register the call with the ingress and `uuid_audio_fork <Unique-ID> start <url> mono 8k
 * <metadata>` on the same connection (07b: +OK after ~3 ms, first frame ~28 ms after the hook).
 *
 * Choices (docs/freeswitch.md):
 * - Hook events are not queued (07a0): a call whose hook fired while we were down stays untapped. On
 *   reconnect we reconcile the calls we knew (`show channels as json`): gone ones end (their
 *   CHANNEL_HANGUP_COMPLETE was lost with the connection), live ones keep their fork (it outlived the
 *   connection, 05a), registrations without a channel are released. We do not tap unknown channels.
 * - The end of a call is its CHANNEL_HANGUP_COMPLETE; a fork closing with a code other than 1000 while
 *   the channel lives is `tap-lost`.
 *
 * - Every subscribed connection gets its own copy of the hook (07), so two ser-ari instances would
 *   both fork the call. With `instance` set, a call is claimed first with mod_hash's atomic
 *   `hash insert_ifempty/ser_claim/<uuid>/<instance>` (under its write lock: `-ERR key already
 *   exists` for the second instance, which backs off); the claim is deleted when the call ends. After
 *   a restart of ser-ari the claims tell which calls were ours: the first reconcile taps them again
 *   (their old fork died with our WebSocket server). Without mod_hash the claim is skipped (logged).
 *
 * Events: `entered` (a call is ours to tap), `tapped` (the fork's metadata arrived), `tap-lost` (the
 * fork was refused, could not connect, or dropped while the call is up: it is retried), `tap-failed`
 * (no fork after the retries: the call goes on untapped), `ended` (callId, hangup cause),
 * `claimed-elsewhere` (another instance holds the call).
 */
export interface FsMonitorOptions {
  client: EslClient;
  ingress: ForkIngress;
  /** Where a call's audio goes (e.g. its CallPipeline); called once per tapped call. */
  sinkFor(call: FsCallInfo): ForkSink;
  /** The name calls are claimed with (mod_hash realm ser_claim); no claim when absent. */
  instance?: string;
  logger?: Logger;
}

/** A call the monitor taps: from its ser::monitor hook, or from `show channels` when re-adopted. */
export interface FsCallInfo {
  callId: string;
  callerNumber: string;
  callerName: string | null;
  channelName: string;
  /** The hook's own name=value pairs (ser_mode, ser_queue ...); empty for a re-adopted call. */
  custom: Record<string, string>;
  /** True when found again after a restart of ser-ari (its claim was ours), not by its hook. */
  adopted: boolean;
}

export interface FsMonitorEvents {
  entered: [call: FsCallInfo];
  'claimed-elsewhere': [callId: string, by: string];
  tapped: [callId: string];
  'tap-failed': [callId: string, reason: string];
  'tap-lost': [callId: string, reason: string];
  ended: [callId: string, cause: string];
}

/** mod_hash realm of the claims: `ser_claim/<uuid>` = the instance that taps the call. */
export const CLAIM_REALM = 'ser_claim';
/** Re-forks of a call whose fork dropped while it was up, 500 ms x attempt apart. */
const MAX_REFORKS = 3;
const REFORK_DELAY_MS = 500;
const UUID = /^[0-9a-fA-F-]{8,64}$/;

interface ChannelRow {
  uuid?: string;
  name?: string;
  cid_num?: string;
  cid_name?: string;
}

export class FsMonitor extends EventEmitter<FsMonitorEvents> {
  readonly #o: FsMonitorOptions;
  readonly #live = new Set<string>();
  readonly #off: (() => void)[] = [];
  readonly #sinks = new Map<string, ForkSink>();
  readonly #reforks = new Map<string, number>();
  #firstReconcile = true;
  #hashMissingLogged = false;

  constructor(o: FsMonitorOptions) {
    super();
    this.#o = o;
    const onEvent = (e: FsEvent): void => this.#onEvent(e);
    const onUp = (): void => void this.reconcile();
    const onConnected = (callId: string): void => {
      if (!this.#live.has(callId)) return;
      this.#reforks.delete(callId); // a later drop gets its own retries
      this.emit('tapped', callId);
    };
    const onClosed = (info: { callId: string; code: number }): void => {
      if (!this.#live.has(info.callId) || info.code === 1000) return;
      this.#lost(info.callId, `the audio fork closed with code ${info.code} while the call is up`);
    };
    o.client.on('event', onEvent);
    o.client.on('up', onUp);
    o.ingress.on('connected', onConnected);
    o.ingress.on('closed', onClosed);
    this.#off.push(
      () => o.client.off('event', onEvent),
      () => o.client.off('up', onUp),
      () => o.ingress.off('connected', onConnected),
      () => o.ingress.off('closed', onClosed),
    );
  }

  /** Calls tapped (or being tapped) and not ended. */
  get calls(): string[] {
    return [...this.#live];
  }

  /** After a (re)connect: end the calls that vanished meanwhile, release registrations without a channel. */
  async reconcile(): Promise<void> {
    let body: string;
    try {
      body = await this.#o.client.api('show channels as json');
    } catch (err) {
      this.#o.logger?.warn({ err: (err as Error).message }, 'FreeSWITCH reconcile failed: will retry at the next reconnect');
      return;
    }
    let rows: ChannelRow[] = [];
    try {
      rows = (JSON.parse(body) as { rows?: ChannelRow[] }).rows ?? [];
    } catch {
      return;
    }
    const present = new Set(rows.map((r) => r.uuid));
    for (const callId of [...this.#live]) if (!present.has(callId)) this.#end(callId, 'UNKNOWN (ended while the event socket was down)');
    for (const callId of this.#o.ingress.expected) if (!present.has(callId) && !this.#live.has(callId)) this.#o.ingress.release(callId);
    const instance = this.#o.instance;
    if (!instance) return;
    const ours = await this.#ourClaims(instance);
    if (this.#firstReconcile) {
      this.#firstReconcile = false;
      await this.#adoptClaimed(rows.filter((r) => r.uuid && ours.has(r.uuid) && !this.#live.has(r.uuid)));
    }
    await this.#dropStaleClaims(ours, present, instance);
  }

  /** The calls this instance holds a claim on, from one `hash_dump` (lines `D/ser_claim_<uuid>/<instance>`). */
  async #ourClaims(instance: string): Promise<Set<string>> {
    const dump = await this.#o.client.api(`hash_dump db ${CLAIM_REALM}`).catch(() => '');
    const prefix = `D/${CLAIM_REALM}_`;
    const ours = new Set<string>();
    for (const line of dump.split('\n')) {
      if (!line.startsWith(prefix)) continue;
      const [callId, holder] = line.slice(prefix.length).split('/', 2);
      if (callId && holder === instance && UUID.test(callId)) ours.add(callId);
    }
    return ours;
  }

  /**
   * Claims of ours whose call is gone: it ended while we were down, or its delete was lost with the
   * connection. Nobody else deletes them: FreeSWITCH would keep them until it restarts.
   */
  async #dropStaleClaims(ours: Set<string>, present: Set<string | undefined>, instance: string): Promise<void> {
    const stale = [...ours].filter((callId) => !present.has(callId) && !this.#live.has(callId));
    for (const callId of stale) await this.#o.client.api(`hash delete_ifmatch/${CLAIM_REALM}/${callId}/${instance}`).catch(() => undefined);
    if (stale.length > 0) this.#o.logger?.info({ dropped: stale.length }, 'removed the claims of calls that ended while ser-ari was down');
  }

  /** Calls a previous run of this instance had claimed: their forks died with it; fork them again. */
  async #adoptClaimed(rows: ChannelRow[]): Promise<void> {
    for (const row of rows) {
      const callId = row.uuid!;
      if (this.#live.has(callId)) continue;
      this.#o.logger?.info({ callId }, 're-tapping a call a previous run of this instance had claimed');
      await this.#o.client.api(`uuid_audio_fork ${callId} stop`).catch(() => undefined);
      await this.#tap({ callId, callerNumber: row.cid_num ?? '', callerName: row.cid_name || null, channelName: row.name ?? '', custom: {}, adopted: true });
    }
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    this.#sinks.clear();
    for (const callId of this.#live) this.#o.ingress.release(callId);
    this.#live.clear();
  }

  #onEvent(e: FsEvent): void {
    if (e.type === 'ser::monitor') {
      void this.#tap({ callId: e.uuid, callerNumber: e.callerNumber, callerName: e.raw.headers['Caller-Caller-ID-Name'] || null, channelName: e.channelName, custom: e.custom, adopted: false });
    }
    else if (e.type === 'CHANNEL_HANGUP_COMPLETE' && this.#live.has(e.uuid)) this.#end(e.uuid, e.cause);
    else if (e.type === 'mod_audio_fork' && e.what === 'connect_failed' && this.#live.has(e.uuid)) {
      this.#lost(e.uuid, `mod_audio_fork could not connect to ser-ari: ${JSON.stringify(e.payload)}`);
    }
  }

  async #tap(call: FsCallInfo): Promise<void> {
    const callId = call.callId;
    if (!callId || this.#live.has(callId)) return;
    this.#live.add(callId);
    if (!call.adopted && !(await this.#claim(callId))) {
      this.#live.delete(callId);
      return;
    }
    if (!this.#live.has(callId)) return; // hung up while we claimed it
    this.emit('entered', call);
    const sink = this.#o.sinkFor(call);
    this.#sinks.set(callId, sink);
    if (!(await this.#fork(callId, sink))) this.#lost(callId, 'uuid_audio_fork refused');
  }

  #lost(callId: string, reason: string): void {
    const attempt = (this.#reforks.get(callId) ?? 0) + 1;
    if (attempt > MAX_REFORKS) {
      this.emit('tap-failed', callId, `no audio fork after ${MAX_REFORKS} retries (${reason}): call left untapped`);
      return;
    }
    this.#reforks.set(callId, attempt);
    this.emit('tap-lost', callId, reason);
    void this.#refork(callId, attempt);
  }

  async #fork(callId: string, sink: ForkSink): Promise<boolean> {
    const target = this.#o.ingress.expect(callId, sink);
    try {
      const reply = await this.#o.client.api(`uuid_audio_fork ${callId} start ${target.url} mono 8k ${target.metadata}`);
      if (isErrorReply(reply)) throw new Error(reply.trim());
      return true;
    } catch (err) {
      this.#o.logger?.warn({ callId, err: (err as Error).message }, 'uuid_audio_fork refused');
      return false;
    }
  }

  /**
   * The fork was refused, could not connect, or its WebSocket dropped while the call is up (a network
   * blip, not a hang-up: those close 1000): stop what is left of the old fork and start a new one on
   * the same registration, a few times with a growing pause, as the ARI side rebuilds a silent tap.
   */
  async #refork(callId: string, attempt: number): Promise<void> {
    await new Promise((r) => setTimeout(r, REFORK_DELAY_MS * attempt));
    const sink = this.#sinks.get(callId);
    if (!sink || !this.#live.has(callId) || this.#o.ingress.isConnected(callId)) return;
    this.#o.logger?.warn({ callId, attempt }, 'audio fork lost while the call is up: forking again');
    await this.#o.client.api(`uuid_audio_fork ${callId} stop`).catch(() => undefined);
    if (this.#live.has(callId) && !(await this.#fork(callId, sink))) this.#lost(callId, 'uuid_audio_fork refused');
  }

  /** True when the call is ours to tap: claimed now, or no claim asked for, or mod_hash missing. */
  async #claim(callId: string): Promise<boolean> {
    const instance = this.#o.instance;
    if (!instance) return true;
    let reply: string;
    try {
      reply = await this.#o.client.api(`hash insert_ifempty/${CLAIM_REALM}/${callId}/${instance}`);
    } catch (err) {
      this.#o.logger?.warn({ callId, err: (err as Error).message }, 'could not claim the call: tapping it unclaimed');
      return true;
    }
    if (!isErrorReply(reply)) return true;
    if (/already exists/.test(reply)) {
      const holder = (await this.#o.client.api(`hash select/${CLAIM_REALM}/${callId}`).catch(() => '')).trim();
      if (holder === instance) return true;
      this.#o.logger?.info({ callId, by: holder }, 'call claimed by another ser-ari instance: not tapping it');
      this.emit('claimed-elsewhere', callId, holder);
      return false;
    }
    if (!this.#hashMissingLogged) {
      this.#hashMissingLogged = true;
      this.#o.logger?.warn({ reply: reply.trim() }, 'mod_hash is not loaded: calls are tapped unclaimed (two ser-ari instances would both tap them)');
    }
    return true;
  }

  #end(callId: string, cause: string): void {
    this.#live.delete(callId);
    this.#sinks.delete(callId);
    this.#reforks.delete(callId);
    this.#o.ingress.release(callId);
    if (this.#o.instance) void this.#o.client.api(`hash delete_ifmatch/${CLAIM_REALM}/${callId}/${this.#o.instance}`).catch(() => undefined);
    this.emit('ended', callId, cause);
  }
}

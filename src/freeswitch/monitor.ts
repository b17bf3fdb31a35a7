import { EventEmitter } from 'eventemitter3';
import type { Logger } from '../log/logger.js';
import type { EslClient } from './esl-client.js';
import { isErrorReply } from './esl-client.js';
import type { FsEvent } from './events.js';
import type { ForkIngress, ForkSink } from './fork-ingress.js';

/**
 * The monitor mode on FreeSWITCH, standalone until the PBX-neutral core exists (issue 15 item 1): the
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
 * Events: `tapped` (the fork's metadata arrived), `tap-failed` (the api refused, or
 * mod_audio_fork::connect_failed), `tap-lost`, `ended` (callId, hangup cause).
 */
export interface FsMonitorOptions {
  client: EslClient;
  ingress: ForkIngress;
  /** Where a call's audio goes (e.g. its CallPipeline); called once per tapped call. */
  sinkFor(callId: string, hook: Extract<FsEvent, { type: 'ser::monitor' }>): ForkSink;
  logger?: Logger;
}

export interface FsMonitorEvents {
  entered: [callId: string, hook: Extract<FsEvent, { type: 'ser::monitor' }>];
  tapped: [callId: string];
  'tap-failed': [callId: string, reason: string];
  'tap-lost': [callId: string, code: number];
  ended: [callId: string, cause: string];
}

export class FsMonitor extends EventEmitter<FsMonitorEvents> {
  readonly #o: FsMonitorOptions;
  readonly #live = new Set<string>();
  readonly #off: (() => void)[] = [];

  constructor(o: FsMonitorOptions) {
    super();
    this.#o = o;
    const onEvent = (e: FsEvent): void => this.#onEvent(e);
    const onUp = (): void => void this.reconcile();
    const onConnected = (callId: string): void => {
      if (this.#live.has(callId)) this.emit('tapped', callId);
    };
    const onClosed = (info: { callId: string; code: number }): void => {
      if (this.#live.has(info.callId) && info.code !== 1000) this.emit('tap-lost', info.callId, info.code);
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
    let rows: { uuid?: string }[] = [];
    try {
      rows = (JSON.parse(body) as { rows?: { uuid?: string }[] }).rows ?? [];
    } catch {
      return;
    }
    const present = new Set(rows.map((r) => r.uuid));
    for (const callId of [...this.#live]) if (!present.has(callId)) this.#end(callId, 'UNKNOWN (ended while the event socket was down)');
    for (const callId of this.#o.ingress.expected) if (!present.has(callId) && !this.#live.has(callId)) this.#o.ingress.release(callId);
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
    for (const callId of this.#live) this.#o.ingress.release(callId);
    this.#live.clear();
  }

  #onEvent(e: FsEvent): void {
    if (e.type === 'ser::monitor') void this.#tap(e);
    else if (e.type === 'CHANNEL_HANGUP_COMPLETE' && this.#live.has(e.uuid)) this.#end(e.uuid, e.cause);
    else if (e.type === 'mod_audio_fork' && e.what === 'connect_failed' && this.#live.has(e.uuid)) {
      this.emit('tap-failed', e.uuid, `mod_audio_fork could not connect: ${JSON.stringify(e.payload)}`);
    }
  }

  async #tap(hook: Extract<FsEvent, { type: 'ser::monitor' }>): Promise<void> {
    const callId = hook.uuid;
    if (!callId || this.#live.has(callId)) return;
    this.#live.add(callId);
    this.emit('entered', callId, hook);
    const target = this.#o.ingress.expect(callId, this.#o.sinkFor(callId, hook));
    try {
      const reply = await this.#o.client.api(`uuid_audio_fork ${callId} start ${target.url} mono 8k ${target.metadata}`);
      if (isErrorReply(reply)) throw new Error(reply.trim());
    } catch (err) {
      this.#o.logger?.warn({ callId, err: (err as Error).message }, 'uuid_audio_fork refused: call left untapped');
      this.emit('tap-failed', callId, (err as Error).message);
    }
  }

  #end(callId: string, cause: string): void {
    this.#live.delete(callId);
    this.#o.ingress.release(callId);
    this.emit('ended', callId, cause);
  }
}

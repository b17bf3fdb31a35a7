import type { Client } from 'ari-client';
import type { Logger } from 'pino';
import type { AudioPath } from '../pipeline/audio-path.js';
import { ownArgs, ownId } from './ids.js';
import { AriError, ariRequest, hasStatus } from './rest.js';
import type { StasisWatch } from './stasis-watch.js';

/** One tap on Asterisk: snoop of `target` + externalMedia sending RTP to our `port`, in a mixing bridge. */
export interface Tap {
  /** Key of the audio path stream (the callId, or `<callId>:agent` for an agent-side tap). */
  key: string;
  callId: string;
  target: string;
  snoopId: string;
  emId: string;
  bridgeId: string;
  host: string;
  port: number;
}

/** Why a tap could not be built. Only `ari` is worth a retry; the others leave the call untapped. */
export type TapFailure = 'ports' | 'limit' | 'asterisk-rtp' | 'gone' | 'ari' | 'disconnected';

export type BuildResult = { ok: true; tap: Tap } | { ok: false; reason: TapFailure; error: string };

export interface TapBuilderOptions {
  client: () => Client | null;
  app: string;
  audioPath: AudioPath;
  format: 'ulaw' | 'slin16';
  /** Accept the tap's RTP only from where Asterisk says it sends it (UNICASTRTP_LOCAL_ADDRESS/PORT). */
  pinSource: boolean;
  maxTaps: number;
  timeoutMs: number;
  /** Ids of our objects that are meant to exist: reconcile removes any of ours not in here. */
  live: Set<string>;
  /** Our channels' StasisStart events, fed by the app. */
  stasis: StasisWatch;
  logger: Logger;
}

export class TapBuilder {
  readonly #o: TapBuilderOptions;
  #active = 0;

  constructor(opts: TapBuilderOptions) {
    this.#o = opts;
  }

  /** Taps built or being built (counted against ari.maxTaps). */
  get active(): number {
    return this.#active;
  }

  async build(key: string, callId: string, target: string, spy: 'in' | 'out' | 'both' = 'in'): Promise<BuildResult> {
    const { audioPath, live, timeoutMs, app } = this.#o;
    const log = this.#o.logger.child({ callId, tap: key });
    if (this.#active >= this.#o.maxTaps) {
      return { ok: false, reason: 'limit', error: `ari.maxTaps (${this.#o.maxTaps}) taps already running` };
    }
    const client = this.#o.client();
    if (!client) return { ok: false, reason: 'disconnected', error: 'not connected to Asterisk' };
    this.#active++;
    const local = await audioPath.openCall(key);
    if (!local) {
      this.#active--;
      return { ok: false, reason: 'ports', error: audioPath.bindError ?? 'RTP port pool exhausted' };
    }
    const tap: Tap = {
      key,
      callId,
      target,
      snoopId: ownId('snoop', callId),
      emId: ownId('em', callId),
      bridgeId: ownId('bridge', callId),
      host: local.host,
      port: local.port,
    };
    // Registered before the requests: a StasisStart or a reconcile may see them before the responses.
    live.add(tap.snoopId).add(tap.emId).add(tap.bridgeId);
    let step = 'snoop';
    try {
      await ariRequest('POST snoop', target, timeoutMs, () =>
        client.channels.snoopChannelWithId({ channelId: target, snoopId: tap.snoopId, spy, app, appArgs: ownArgs('snoop', callId) }),
      );
      step = 'externalMedia';
      const em = await ariRequest('POST externalMedia', tap.emId, timeoutMs, () =>
        client.channels.externalMedia({
          channelId: tap.emId,
          app,
          external_host: `${local.host}:${local.port}`,
          format: this.#o.format,
          data: ownArgs('em', callId),
        } as Parameters<Client['channels']['externalMedia']>[0]),
      );
      const from = sourceOf(em);
      if (this.#o.pinSource && from) audioPath.expectSource(key, from);
      step = 'bridge';
      await ariRequest('POST bridges', tap.bridgeId, timeoutMs, () =>
        client.bridges.createWithId({ bridgeId: tap.bridgeId, type: 'mixing', name: `ser-tap:${callId}` }),
      );
      step = 'stasis';
      for (const id of [tap.snoopId, tap.emId]) {
        if (!(await this.#o.stasis.until(id, timeoutMs))) throw new AriError('StasisStart', id, `${id} did not enter Stasis within ${timeoutMs} ms`, undefined, true);
      }
      step = 'addChannel';
      await ariRequest('POST addChannel', tap.bridgeId, timeoutMs, () =>
        client.bridges.addChannel({ bridgeId: tap.bridgeId, channel: `${tap.snoopId},${tap.emId}` }),
      );
      log.debug({ port: tap.port, snoopId: tap.snoopId, emId: tap.emId, bridgeId: tap.bridgeId }, 'tap bridged');
      return { ok: true, tap };
    } catch (err) {
      const reason: TapFailure =
        step === 'snoop' && hasStatus(err, 404)
          ? 'gone'
          : step === 'externalMedia' && hasStatus(err, 500)
            ? 'asterisk-rtp'
            : step === 'addChannel' && hasStatus(err, 404, 422)
              ? 'gone'
              : 'ari';
      const error = `${step} failed: ${(err as Error).message}`;
      if (reason === 'asterisk-rtp') log.warn({ err: error }, 'Asterisk could not allocate an RTP port for the tap: call left untapped');
      else log.debug({ err: error, reason }, 'tap build failed, releasing what was built');
      await this.teardown(tap);
      return { ok: false, reason, error };
    }
  }

  /** Deletes the tap's objects (404 counts as done) and releases its UDP port. Never throws. */
  async teardown(tap: Tap): Promise<void> {
    const { live, timeoutMs, audioPath } = this.#o;
    if (!live.has(tap.snoopId) && !live.has(tap.emId) && !live.has(tap.bridgeId)) return;
    const client = this.#o.client();
    // Whatever fails here is no longer "live", so the next reconcile removes it.
    live.delete(tap.snoopId);
    live.delete(tap.emId);
    live.delete(tap.bridgeId);
    this.#o.stasis.forget(tap.snoopId);
    this.#o.stasis.forget(tap.emId);
    this.#active--;
    if (client) {
      await Promise.all([
        removeChannel(client, tap.emId, timeoutMs, this.#o.logger),
        removeChannel(client, tap.snoopId, timeoutMs, this.#o.logger),
      ]);
      await removeBridge(client, tap.bridgeId, timeoutMs, this.#o.logger);
    }
    await audioPath.closeCall(tap.key);
  }
}

export async function removeChannel(client: Client, id: string, timeoutMs: number, log: Logger): Promise<boolean> {
  try {
    await ariRequest('DELETE channel', id, timeoutMs, () => client.channels.hangup({ channelId: id }));
    return true;
  } catch (err) {
    if (hasStatus(err, 404)) return true;
    log.warn({ err: (err as AriError).message }, 'could not delete a channel of ours; the next reconcile retries');
    return false;
  }
}

export async function removeBridge(client: Client, id: string, timeoutMs: number, log: Logger): Promise<boolean> {
  try {
    await ariRequest('DELETE bridge', id, timeoutMs, () => client.bridges.destroy({ bridgeId: id }));
    return true;
  } catch (err) {
    if (hasStatus(err, 404)) return true;
    log.warn({ err: (err as AriError).message }, 'could not delete a bridge of ours; the next reconcile retries');
    return false;
  }
}

/**
 * Where Asterisk will send a tap's RTP from: the externalMedia response's UNICASTRTP_LOCAL_ADDRESS and
 * _PORT (recorded: RTP arrived from exactly there). Null when absent or a wildcard address.
 */
export function sourceOf(channel: unknown): { address: string; port: number } | null {
  const vars = (channel as { channelvars?: Record<string, string> } | null)?.channelvars;
  const address = vars?.['UNICASTRTP_LOCAL_ADDRESS'];
  const port = Number(vars?.['UNICASTRTP_LOCAL_PORT']);
  if (!address || address === '0.0.0.0' || address === '::' || !Number.isInteger(port) || port <= 0) return null;
  return { address, port };
}

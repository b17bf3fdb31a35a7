import { randomUUID } from 'node:crypto';
import type { Client } from 'ari-client';
import type { AriApp } from './app.js';
import { ownArgs, ownId } from './ids.js';
import { ariRequest, hasStatus } from './rest.js';
import type { CallControl, HangupCause, PbxResult, PriorityChange, TransferTarget } from '../pbx/types.js';

/** The built-in queue's side of priority: null when the call is not waiting in it. */
export interface QueuePriorityPort {
  setPriority(callId: string, change: PriorityChange): Promise<PbxResult> | null;
}

/** app_queue callers (outside Stasis): priority through AMI (QueueChangePriorityCaller). */
export interface AmiPriorityPort {
  setPriority(call: { callId: string; channelName: string; queue: string | null }, priority: number): Promise<PbxResult>;
}

export interface AriCallControlOptions {
  queuePriority?: QueuePriorityPort;
  amiPriority?: AmiPriorityPort;
}

const MAX_PLAY_MS = 120_000;

/**
 * CallControl over ARI. Every method resolves with a PbxResult and never throws: a refusal, a
 * timeout or a lost connection is a failed result the policy publishes as an event. Hang-up and
 * play work on callers outside Stasis (DELETE and a whisper snoop do); variables and dialplan
 * transfers need the caller in Stasis, so outside it they are kept for the next Stasis(ser,decide)
 * when the caller is still in the menu, and refused (409) once it is queued or with an agent.
 */
export class AriCallControl implements CallControl {
  readonly #app: AriApp;
  readonly #o: AriCallControlOptions;

  constructor(app: AriApp, opts: AriCallControlOptions = {}) {
    this.#app = app;
    this.#o = opts;
  }

  async setVariables(callId: string, vars: Record<string, string>): Promise<PbxResult> {
    return this.#guard('setVariables', callId, async () => {
      const s = this.#app.session(callId);
      if (!s) return unknownCall('setVariables', callId);
      if (!s.inStasis) return this.#defer(callId, vars, 'setVariables');
      const client = this.#app.client;
      if (!client) return disconnected('setVariables', callId);
      const t = this.#app.config.requestTimeoutMs;
      await Promise.all(
        Object.entries(vars).map(([variable, value]) => ariRequest('POST variable', callId, t, () => client.channels.setChannelVar({ channelId: callId, variable, value }))),
      );
      return { ok: true };
    });
  }

  async setPriority(callId: string, change: PriorityChange): Promise<PbxResult> {
    const queued = this.#o.queuePriority?.setPriority(callId, change);
    if (queued) return queued.catch((err: Error) => ({ ok: false, error: err.message }));
    const record = this.#app.record(callId);
    if (!record) return unknownCall('setPriority', callId);
    const priority = Math.max(0, 'set' in change ? change.set : (record.priority ?? 0) + change.add);
    const s = this.#app.session(callId);
    if (s && !s.inStasis && record.phase !== 'ivr' && this.#o.amiPriority) {
      const res = await this.#o.amiPriority
        .setPriority({ callId, channelName: record.channelName, queue: record.queue }, priority)
        .catch((err: Error) => ({ ok: false, error: err.message }));
      if (res.ok) this.#app.updateRecord(callId, { priority });
      return res;
    }
    const res = await this.setVariables(callId, { QUEUE_PRIO: String(priority) });
    if (res.ok) this.#app.updateRecord(callId, { priority });
    return res;
  }

  async transfer(callId: string, target: TransferTarget): Promise<PbxResult> {
    return this.#guard('transfer', callId, async () => {
      const s = this.#app.session(callId);
      if (!s) return unknownCall('transfer', callId);
      const refused: PbxResult = { ok: false, status: 409, error: `caller not in Stasis: ARI cannot move it [method:transfer, id:${callId}]` };
      if ('agent' in target) return s.inStasis ? this.#bridgeAgent(callId, target.agent) : refused;
      const ctx = this.#app.config.transferContext;
      const place = 'queue' in target ? { context: ctx, extension: `queue-${target.queue}` } : { context: target.context, extension: target.extension, priority: target.priority ?? 1 };
      if (s.inStasis) {
        const res = await this.#app.continueCall(callId, place);
        // Sent to a queue in the dialplan (app_queue): the caller now waits there.
        if (res.ok && 'queue' in target) this.#app.updateRecord(callId, { phase: 'queued', queue: target.queue });
        return res;
      }
      // ARI cannot move a channel outside Stasis (409). A caller still in the menu is moved at its next
      // Stasis(ser,decide), as variables are; one already queued or with an agent cannot be.
      if (this.#app.record(callId)?.phase !== 'ivr') return refused;
      s.pendingTransfer = place;
      return { ok: true };
    });
  }

  /**
   * Resolves ok only once Asterisk says the media played to the end: its 201 only means "queued", and
   * a missing sound file shows only as PlaybackFinished with state `failed` (recording 11).
   */
  async play(callId: string, media: string): Promise<PbxResult> {
    return this.#guard('play', callId, async () => {
      const s = this.#app.session(callId);
      if (!s) return unknownCall('play', callId);
      const client = this.#app.client;
      if (!client) return disconnected('play', callId);
      const t = this.#app.config.requestTimeoutMs;
      if (s.inStasis && !s.agent) return this.#playToEnd(client, callId, callId, media, s.abort.signal);
      // Outside Stasis (or talking to an agent): whisper into what the caller hears, then remove the snoop.
      const snoopId = ownId('whisper', callId);
      this.#app.live.add(snoopId);
      try {
        await ariRequest('POST snoop', callId, t, () =>
          client.channels.snoopChannelWithId({ channelId: callId, snoopId, whisper: 'out', app: this.#app.config.app, appArgs: ownArgs('whisper', callId) }),
        );
        if (!(await this.#app.stasis.until(snoopId, t))) return { ok: false, error: `the whisper channel did not enter Stasis within ${t} ms [method:play, id:${callId}]` };
        return await this.#playToEnd(client, snoopId, callId, media, s.abort.signal);
      } finally {
        this.#app.live.delete(snoopId);
        this.#app.stasis.forget(snoopId);
        await ariRequest('DELETE channel', snoopId, t, () => client.channels.hangup({ channelId: snoopId })).catch(() => undefined);
      }
    });
  }

  async #playToEnd(client: Client, channelId: string, callId: string, media: string, callEnded: AbortSignal): Promise<PbxResult> {
    const playbackId = `ser-pb-${randomUUID()}`;
    const stop = new AbortController();
    const onEnd = (): void => stop.abort();
    callEnded.addEventListener('abort', onEnd, { once: true });
    try {
      const finished = this.#app.waitForEvent((e) => e.type === 'PlaybackFinished' && e.playback?.id === playbackId, MAX_PLAY_MS, stop.signal);
      await ariRequest('POST play', channelId, this.#app.config.requestTimeoutMs, () => client.channels.play({ channelId, media, playbackId }));
      const e = await finished;
      if (!e) return { ok: false, error: `${media} not confirmed played: no PlaybackFinished before the call ended or within ${MAX_PLAY_MS / 1000} s [method:play, id:${callId}]` };
      if (e.playback?.state !== 'done') {
        return { ok: false, error: `Asterisk could not play ${media} (PlaybackFinished state ${e.playback?.state}: is the sound installed?) [method:play, id:${callId}]` };
      }
      return { ok: true };
    } finally {
      stop.abort();
      callEnded.removeEventListener('abort', onEnd);
    }
  }

  async hangup(callId: string, cause: HangupCause): Promise<PbxResult> {
    return this.#guard('hangup', callId, async () => {
      const client = this.#app.client;
      if (!client) return disconnected('hangup', callId);
      try {
        await ariRequest('DELETE channel', callId, this.#app.config.requestTimeoutMs, () => client.channels.hangup({ channelId: callId, reason: cause }));
      } catch (err) {
        if (!hasStatus(err, 404)) throw err;
      }
      return { ok: true };
    });
  }

  /**
   * Listen-in: a snoop on the caller (spy `in` or `both`, never whisper), the supervisor's endpoint
   * originated into the app and, once it answers, both in a mixing bridge. Everything is released when
   * the supervisor hangs up or the call ends (the call's abort signal), whichever comes first.
   */
  async listen(callId: string, endpoint: string, spy: 'in' | 'both'): Promise<PbxResult> {
    return this.#guard('listen', callId, async () => {
      const s = this.#app.session(callId);
      if (!s || s.ended) return unknownCall('listen', callId);
      const client = this.#app.client;
      if (!client) return disconnected('listen', callId);
      const t = this.#app.config.requestTimeoutMs;
      const leg = { snoopId: ownId('listen', callId), supervisorId: ownId('super', callId), bridgeId: ownId('lbridge', callId), endpoint };
      this.#app.live.add(leg.snoopId).add(leg.supervisorId).add(leg.bridgeId);
      let released = false;
      const release = async (): Promise<void> => {
        if (released) return;
        released = true;
        s.listeners = s.listeners.filter((l) => l !== leg);
        for (const id of [leg.snoopId, leg.supervisorId, leg.bridgeId]) this.#app.live.delete(id);
        this.#app.stasis.forget(leg.snoopId);
        const c = this.#app.client;
        if (!c) return;
        await Promise.all([
          ariRequest('DELETE channel', leg.supervisorId, t, () => c.channels.hangup({ channelId: leg.supervisorId })).catch(() => undefined),
          ariRequest('DELETE channel', leg.snoopId, t, () => c.channels.hangup({ channelId: leg.snoopId })).catch(() => undefined),
        ]);
        await ariRequest('DELETE bridge', leg.bridgeId, t, () => c.bridges.destroy({ bridgeId: leg.bridgeId })).catch(() => undefined);
      };
      const answered = this.#app.waitForEvent(
        (e) => (e.type === 'StasisStart' || e.type === 'ChannelDestroyed') && e.channel?.id === leg.supervisorId,
        this.#app.config.agentAnswerTimeoutMs,
        s.abort.signal,
      );
      try {
        await ariRequest('POST snoop', callId, t, () =>
          client.channels.snoopChannelWithId({ channelId: callId, snoopId: leg.snoopId, spy, app: this.#app.config.app, appArgs: ownArgs('listen', callId) }),
        );
        if (!(await this.#app.stasis.until(leg.snoopId, t))) {
          await release();
          return { ok: false, error: `the listen-in snoop did not enter Stasis within ${t} ms [method:listen, id:${callId}]` };
        }
        const caller = s.channel.caller;
        await ariRequest('POST channels', leg.supervisorId, t, () =>
          client.channels.originate({
            endpoint,
            channelId: leg.supervisorId,
            app: this.#app.config.app,
            appArgs: ownArgs('super', callId),
            callerId: `"Listen: ${(caller?.name || caller?.number || callId).replace(/"/g, '')}" <${caller?.number ?? ''}>`,
            timeout: Math.ceil(this.#app.config.agentAnswerTimeoutMs / 1000),
          }),
        );
        const e = await answered;
        if (!e || e.type !== 'StasisStart' || s.ended) {
          await release();
          return { ok: false, error: `supervisor ${endpoint} did not answer [method:listen, id:${callId}]` };
        }
        await ariRequest('POST bridges', leg.bridgeId, t, () => client.bridges.createWithId({ bridgeId: leg.bridgeId, type: 'mixing', name: `ser-listen:${callId}` }));
        await ariRequest('POST addChannel', leg.bridgeId, t, () => client.bridges.addChannel({ bridgeId: leg.bridgeId, channel: `${leg.snoopId},${leg.supervisorId}` }));
        s.listeners.push(leg);
        // Until the supervisor hangs up (or the snoop goes), or the call ends: then release the rest.
        void this.#app
          .waitForEvent(
            (ev) => (ev.type === 'StasisEnd' || ev.type === 'ChannelDestroyed') && (ev.channel?.id === leg.supervisorId || ev.channel?.id === leg.snoopId),
            2 ** 31 - 1,
            s.abort.signal,
          )
          .then(release);
        return { ok: true };
      } catch (err) {
        await release();
        throw err;
      }
    });
  }

  /** Originates the agent into the app and, once it answers, bridges it with the caller. */
  async #bridgeAgent(callId: string, endpoint: string): Promise<PbxResult> {
    const s = this.#app.session(callId)!;
    if (s.agent) return { ok: true };
    const client = this.#app.client;
    if (!client) return disconnected('transfer', callId);
    const t = this.#app.config.requestTimeoutMs;
    const agentId = ownId('agent', callId);
    const bridgeId = ownId('xfer', callId);
    this.#app.live.add(agentId).add(bridgeId);
    const answered = this.#app.waitForEvent(
      (e) => (e.type === 'StasisStart' || e.type === 'ChannelDestroyed') && e.channel?.id === agentId,
      this.#app.config.agentAnswerTimeoutMs,
      s.abort.signal,
    );
    const release = async (): Promise<void> => {
      this.#app.live.delete(agentId);
      this.#app.live.delete(bridgeId);
      await ariRequest('DELETE channel', agentId, t, () => client.channels.hangup({ channelId: agentId })).catch(() => undefined);
      await ariRequest('DELETE bridge', bridgeId, t, () => client.bridges.destroy({ bridgeId })).catch(() => undefined);
    };
    try {
      const caller = s.channel.caller;
      await ariRequest('POST channels', agentId, t, () =>
        client.channels.originate({
          endpoint,
          channelId: agentId,
          app: this.#app.config.app,
          appArgs: ownArgs('agent', callId),
          callerId: caller?.number ? `"${caller.name ?? ''}" <${caller.number}>` : '',
          timeout: Math.ceil(this.#app.config.agentAnswerTimeoutMs / 1000),
        }),
      );
      const e = await answered;
      if (!e || e.type !== 'StasisStart' || s.ended) {
        await release();
        return { ok: false, error: `agent ${endpoint} did not answer [method:transfer, id:${callId}]` };
      }
      await ariRequest('POST bridges', bridgeId, t, () => client.bridges.createWithId({ bridgeId, type: 'mixing', name: `ser-xfer:${callId}` }));
      await ariRequest('POST addChannel', bridgeId, t, () => client.bridges.addChannel({ bridgeId, channel: `${callId},${agentId}` }));
      s.agent = { agentId, bridgeId, endpoint };
      this.#app.updateRecord(callId, { phase: 'agent', agent: endpoint });
      if (this.#app.config.agentTap) void this.#app.tapAgent(callId, agentId);
      return { ok: true };
    } catch (err) {
      await release();
      throw err;
    }
  }

  #defer(callId: string, vars: Record<string, string>, method: string): PbxResult {
    const s = this.#app.session(callId)!;
    const record = this.#app.record(callId);
    if (record?.phase !== 'ivr') {
      return { ok: false, status: 409, error: `caller not in Stasis and past the menu [method:${method}, id:${callId}]` };
    }
    Object.assign(s.pendingVars, vars);
    return { ok: true };
  }

  async #guard(method: string, callId: string, run: () => Promise<PbxResult>): Promise<PbxResult> {
    try {
      return await run();
    } catch (err) {
      const status = (err as { status?: number }).status;
      this.#app.logger.warn({ callId, method, err: (err as Error).message }, 'PBX action failed');
      return { ok: false, error: (err as Error).message, ...(status ? { status } : {}) };
    }
  }
}

function unknownCall(method: string, callId: string): PbxResult {
  return { ok: false, status: 404, error: `no such live call [method:${method}, id:${callId}]` };
}

function disconnected(method: string, callId: string): PbxResult {
  return { ok: false, error: `not connected to Asterisk [method:${method}, id:${callId}]` };
}

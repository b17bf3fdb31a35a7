import type { Client } from 'ari-client';
import type { QueueAri, QueueAriEvent } from '../queue/port.js';
import { ariRequest } from './rest.js';

type Listener = (event: Record<string, unknown>) => void;

/**
 * The queue's port (src/queue/port.ts) over a connected ari-client instance (the one the ARI app
 * started). Every request has a deadline: ari-client waits for ever on a connection that died mid-request.
 */
export function ariClientPort(client: Client, app: string, timeoutMs = 5000): QueueAri {
  const call = <T>(method: string, id: string, run: () => Promise<T>): Promise<T> => ariRequest(method, id, timeoutMs, run);
  return {
    async originate(p) {
      await call('POST channels', p.channelId, () => client.channels.originate({
        endpoint: p.endpoint,
        app,
        appArgs: p.appArgs,
        channelId: p.channelId,
        timeout: p.timeoutSeconds,
        ...(p.originator ? { originator: p.originator } : {}),
        ...(p.callerId ? { callerId: p.callerId } : {}),
      }));
    },
    async hangup(channelId, reason = 'normal') {
      await call('DELETE channel', channelId, () => client.channels.hangup({ channelId, reason }));
    },
    async answer(channelId) {
      await call('POST answer', channelId, () => client.channels.answer({ channelId }));
    },
    async createBridge(p) {
      await call('POST bridges', p.bridgeId, () => client.bridges.create({ bridgeId: p.bridgeId, type: p.type, name: p.name }));
    },
    async destroyBridge(bridgeId) {
      await call('DELETE bridge', bridgeId, () => client.bridges.destroy({ bridgeId }));
    },
    async listBridges() {
      const bridges = await call('GET bridges', '*', () => client.bridges.list());
      return bridges.map((b) => ({ id: b.id, name: b.name ?? '', channels: toArray(b.channels) }));
    },
    async startMoh(bridgeId, mohClass) {
      await call('POST moh', bridgeId, () => client.bridges.startMoh({ bridgeId, mohClass }));
    },
    async addChannels(bridgeId, channelIds) {
      await call('POST addChannel', bridgeId, () => client.bridges.addChannel({ bridgeId, channel: channelIds }));
    },
    async removeChannel(bridgeId, channelId) {
      await call('POST removeChannel', bridgeId, () => client.bridges.removeChannel({ bridgeId, channel: channelId }));
    },
    async continueInDialplan(channelId) {
      await call('POST continue', channelId, () => client.channels.continueInDialplan({ channelId }));
    },
    async setVariable(channelId, variable, value) {
      await call('POST variable', channelId, () => client.channels.setChannelVar({ channelId, variable, value }));
    },
    async getVariable(channelId, variable) {
      try {
        const v = await call('GET variable', channelId, () => client.channels.getChannelVar({ channelId, variable }));
        return v.value;
      } catch (err) {
        if (/not found/i.test(String((err as Error).message))) return null;
        throw err;
      }
    },
    async endpointState(endpoint) {
      const [tech, resource] = splitEndpoint(endpoint);
      try {
        const e = await call('GET endpoint', endpoint, () => client.endpoints.get({ tech, resource }));
        return e.state ?? 'unknown';
      } catch (err) {
        if (/not found/i.test(String((err as Error).message))) return null;
        throw err;
      }
    },
    async subscribeEndpoints(endpoints) {
      // Local channels have no endpoint (Asterisk answers 422 "Event source does not exist"), and
      // Asterisk stops a many-source request at the first missing one: one request per endpoint, so
      // the agents after a bad one still report their state.
      const real = endpoints.filter((e) => !e.startsWith('Local/'));
      const results = await Promise.allSettled(
        real.map((e) => call('POST subscription', e, () => client.applications.subscribe({ applicationName: app, eventSource: `endpoint:${e}` }))),
      );
      const failed = real.filter((_, i) => results[i]!.status === 'rejected');
      if (failed.length > 0) throw new Error(`no endpoint events for ${failed.join(', ')}: ${String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)}`);
    },
    onEvent(listener) {
      const handlers: Array<[string, Listener]> = [
        ['StasisStart', (e) => listener({ type: 'StasisStart', channelId: channelIdOf(e), args: toArray(e.args as string | string[] | undefined) })],
        ['StasisEnd', (e) => listener({ type: 'StasisEnd', channelId: channelIdOf(e) })],
        ['ChannelDestroyed', (e) => listener({ type: 'ChannelDestroyed', channelId: channelIdOf(e), cause: Number(e.cause ?? 0) })],
        [
          'EndpointStateChange',
          (e) => {
            const ep = e.endpoint as { technology?: string; resource?: string; state?: string } | undefined;
            if (ep?.technology && ep.resource) listener({ type: 'EndpointStateChange', endpoint: `${ep.technology}/${ep.resource}`, state: ep.state ?? 'unknown' });
          },
        ],
      ];
      const emitter = client as unknown as { on(t: string, l: Listener): void; removeListener(t: string, l: Listener): void };
      for (const [type, l] of handlers) emitter.on(type, l);
      return () => {
        for (const [type, l] of handlers) emitter.removeListener(type, l);
      };
    },
  };
}

export function splitEndpoint(endpoint: string): [tech: string, resource: string] {
  const i = endpoint.indexOf('/');
  return i < 0 ? [endpoint, ''] : [endpoint.slice(0, i), endpoint.slice(i + 1)];
}

function channelIdOf(e: Record<string, unknown>): string {
  return String((e.channel as { id?: string } | undefined)?.id ?? '');
}

function toArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * The queue's port over the ARI app's current connection: one port per ari-client instance (a reconnect
 * brings a new one), null while disconnected.
 */
export function queueAriOf(client: () => Client | null, app: string, timeoutMs?: number): () => QueueAri | null {
  const ports = new WeakMap<Client, QueueAri>();
  return () => {
    const c = client();
    if (!c) return null;
    let port = ports.get(c);
    if (!port) ports.set(c, (port = ariClientPort(c, app, timeoutMs)));
    return port;
  };
}

import { Writable } from 'node:stream';
import { configSchema } from '../../src/config/schema.js';
import type { SerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { MODEL } from '../helpers/paths.js';

/**
 * One switch under the contract suite: the whole service (real sockets, onnxruntime, the shipped
 * model) on that switch's simulator, and what the suite needs to observe on the switch side.
 */
export interface Rig {
  readonly pbx: 'asterisk' | 'freeswitch';
  readonly service: Service;
  readonly events: SerEvent[];
  /** A caller reaches the point where the dialplan hands it to ser-ari (Stasis(ser,monitor) / the ser::monitor hook). */
  place(audio: Float32Array, number: string): Promise<string>;
  /** The caller hangs up. */
  hangup(callId: string): void;
  /** Whether the caller's channel still exists. */
  up(callId: string): boolean;
  /** The hang-up cause the switch recorded for the caller, once it ended (Q.850 name). */
  cause(callId: string): string | null;
  /**
   * A channel variable as the dialplan reads it at its next step. On Asterisk that step is a decision
   * point (Stasis(ser,decide)), where variables asked for outside Stasis are written.
   */
  dialplanVariable(callId: string, name: string): Promise<string | undefined>;
  /** Media the caller heard played to the end. */
  heard(callId: string): string[];
  /** Where the caller was transferred, as the switch recorded it (context/extension or the command). */
  transferredTo(callId: string): string | null;
  /** Drops the control connection (ARI WebSocket / event socket); calls and media go on. */
  dropLink(): void;
  /** The caller's tap breaks while the caller is up (ARI: its snoop channel is gone; FreeSWITCH: the fork's WebSocket drops). */
  breakTap(callId: string): void;
  /** Everything of ours still on the switch (channels, bridges, forks, claims of ended calls). */
  leftovers(): string[];
  /** Live callers marked as ours for a restarted ser-ari (SER_TAPPED_BY / the mod_hash claim). */
  marks(): string[];
  stop(): Promise<void>;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`the switch did not connect within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function quietLogger(): ReturnType<typeof createLogger> {
  return createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
}

function baseConfig(rtpPorts: string): Record<string, unknown> {
  return { http: { port: 0 }, rtp: { ports: rtpPorts }, model: { path: MODEL }, history: { store: 'none' }, ari: { escalateNegativity: 0.5 } };
}

/** ARI hang-up reasons as the Q.850 names FreeSWITCH uses, so both rigs report causes alike. */
const REASON_CAUSE: Record<string, string> = { normal: 'NORMAL_CLEARING', busy: 'USER_BUSY', congestion: 'NORMAL_CIRCUIT_CONGESTION', no_answer: 'NO_ANSWER', rejected: 'CALL_REJECTED', answered_elsewhere: 'LOSE_RACE' };

export async function asteriskRig(rtpPorts: string): Promise<Rig> {
  const config = configSchema.parse(baseConfig(rtpPorts));
  const service = await startService({ config, logger: quietLogger(), simulate: 'asterisk' });
  const sim = service.sim!;
  await until(() => service.pbx.health().connected, 15_000);
  const events: SerEvent[] = [];
  service.bus.subscribe((e) => events.push(e));
  // The simulator forgets a channel once it is destroyed: keep what the suite asks about afterwards.
  const seen = new Map<string, { cause: string | null; heard: string[]; at: string }>();
  const snapshot = (): void => {
    for (const id of seen.keys()) {
      const ch = sim.channel(id);
      if (ch && !ch.hungUp) seen.set(id, { ...seen.get(id)!, heard: [...ch.heard], at: `${ch.context}/${ch.exten}` });
    }
  };
  sim.on('rest', (r: { method: string; path: string; query: Record<string, string> }) => {
    snapshot();
    const m = /^\/ari\/channels\/([^/]+)$/.exec(r.path);
    const s = m && r.method === 'DELETE' ? seen.get(m[1]!) : undefined;
    if (s && s.cause === null) s.cause = REASON_CAUSE[r.query['reason'] ?? 'normal'] ?? `reason ${r.query['reason']}`;
  });
  const timer = setInterval(snapshot, 50);
  return {
    pbx: 'asterisk',
    service,
    events,
    place: async (audio, number) => {
      const id = await sim.placeCall({ stasisArgs: ['monitor'], audio, loop: true, number });
      seen.set(id, { cause: null, heard: [], at: '' });
      return id;
    },
    hangup: (callId) => {
      snapshot();
      seen.get(callId)!.cause ??= 'NORMAL_CLEARING';
      sim.hangup(callId);
    },
    up: (callId) => sim.channel(callId)?.hungUp === false,
    cause: (callId) => (sim.channel(callId)?.hungUp === false ? null : (seen.get(callId)?.cause ?? null)),
    dialplanVariable: async (callId, name) => {
      // The decision point ends when ser-ari continues the caller: then the dialplan reads the variables.
      const continued = new Promise<void>((resolve) => {
        const onRest = (r: { method: string; path: string }): void => {
          if (r.method === 'POST' && r.path === `/ari/channels/${callId}/continue`) {
            sim.off('rest', onRest);
            resolve();
          }
        };
        sim.on('rest', onRest);
      });
      sim.runDialplan(callId, 'Stasis(ser,decide)');
      await continued;
      return sim.channel(callId)?.leftStasisWith?.[name];
    },
    heard: (callId) => {
      snapshot();
      return seen.get(callId)?.heard ?? [];
    },
    transferredTo: (callId) => {
      snapshot();
      return seen.get(callId)?.at ?? null;
    },
    dropLink: () => sim.dropWebsockets(),
    breakTap: (callId) => {
      const snoop = sim.channels().find((c) => !c.hungUp && c.kind === 'snoop' && c.snoopOf === callId);
      if (!snoop) throw new Error(`no snoop on ${callId}`);
      sim.hangup(snoop.id);
    },
    marks: () => sim.channels().filter((c) => !c.hungUp && c.variables['SER_TAPPED_BY'] === config.ari.app).map((c) => c.id),
    leftovers: () => [
      ...sim.channels().filter((c) => !c.hungUp && c.id.startsWith('ser-')).map((c) => `channel ${c.id}`),
      ...sim.bridges().map((b) => `bridge ${b.id}`),
    ],
    stop: async () => {
      clearInterval(timer);
      await service.stop();
    },
  };
}

export async function freeswitchRig(rtpPorts: string): Promise<Rig> {
  const config = configSchema.parse({ ...baseConfig(rtpPorts), freeswitch: { instance: 'contract', soundsDir: '/usr/share/freeswitch/sounds/ser' } });
  const service = await startService({ config, logger: quietLogger(), simulate: 'freeswitch' });
  const sim = service.fsSim!;
  await until(() => service.pbx.health().connected, 15_000);
  const events: SerEvent[] = [];
  service.bus.subscribe((e) => events.push(e));
  const gone = new Map<string, { cause: string; heard: string[]; transfers: string[] }>();
  const channel = (callId: string) => sim.channel(callId);
  const heardOf = (ch: { broadcasts: { file: string; status: string }[] }): string[] =>
    ch.broadcasts.filter((b) => b.status === 'done').map((b) => `sound:${b.file.replace(/^.*\//, '').replace(/\.wav$/, '')}`);
  // The simulator forgets a channel at its hang-up: keep what the suite asks about afterwards.
  const keep = (callId: string): void => {
    const ch = channel(callId);
    if (ch) gone.set(callId, { cause: 'pending', heard: heardOf(ch), transfers: [...ch.transfers] });
  };
  sim.on('hangup', (uuid, cause) => {
    const g = gone.get(uuid);
    if (g) g.cause = cause;
  });
  return {
    pbx: 'freeswitch',
    service,
    events,
    place: async (audio, number) => {
      const id = sim.placeCall({ audio, number });
      gone.set(id, { cause: 'pending', heard: [], transfers: [] });
      return id;
    },
    hangup: (callId) => {
      keep(callId);
      sim.hangup(callId);
    },
    up: (callId) => channel(callId)?.hungUp === false,
    cause: (callId) => (channel(callId) ? null : (gone.get(callId)?.cause ?? null)),
    dialplanVariable: async (callId, name) => channel(callId)?.variables.get(name),
    heard: (callId) => {
      const ch = channel(callId);
      return ch ? heardOf(ch) : (gone.get(callId)?.heard ?? []);
    },
    transferredTo: (callId) => (channel(callId)?.transfers.at(-1) ?? gone.get(callId)?.transfers.at(-1) ?? null),
    dropLink: () => sim.dropEsl(),
    breakTap: (callId) => {
      const fork = channel(callId)?.fork;
      if (!fork?.open) throw new Error(`no open fork on ${callId}`);
      fork.kill();
    },
    marks: () => Object.entries(sim.hashEntries('ser_claim')).filter(([uuid, by]) => by === 'contract' && channel(uuid)).map(([uuid]) => uuid),
    leftovers: () => [
      ...sim.channels().filter((c) => c.fork?.open).map((c) => `fork of ${c.uuid}`),
      ...Object.keys(sim.hashEntries('ser_claim')).filter((uuid) => !channel(uuid)).map((uuid) => `claim of ended call ${uuid}`),
    ],
    stop: () => service.stop(),
  };
}

/**
 * The built-in ARI-speaking PBX: the one stand-in for Asterisk in ser-ari (demo mode and every ARI
 * test). Real HTTP + WebSocket that `ari-client` connects to unchanged, behaving like the Asterisk
 * 22 traffic recorded in shared/asterisk/recorded, and real RTP over UDP for externalMedia taps.
 *
 * ```ts
 * const sim = await AriSimulator.start();                    // 127.0.0.1, port 0, user ser / ser
 * const ari = await AriClient.connect(sim.url, sim.user, sim.password);
 * await ari.start('ser');
 * const callId = await sim.placeCall({ stasisArgs: ['monitor'], audio, number: '5551234' });
 * sim.hangup(callId);                                        // the caller hangs up
 * await sim.stop();
 * ```
 *
 * Model (see pbx.ts for the event rules):
 * - Callers are inbound PJSIP channels (`PJSIP/<endpoint>-0000000N`, endpoint `PJSIP/trunk` unless
 *   `endpoint` is given) that run `Stasis(app,args...)` in `context` (default `ser-in`). With no
 *   websocket for the app, Stasis fails at once: STASISSTATUS=FAILED, `stasisStatus: 'FAILED'`, and
 *   the call continues in the dialplan untapped (`dialplanApp` from `afterStasis`, default `Wait(600)`).
 * - `continue` without a target runs `afterStasis`; with a context/extension it runs that entry of
 *   the dialplan table (`start({ dialplan })`: context -> extension -> applications from priority 1;
 *   default as shared/asterisk/conf: `ser-continue,queue` -> NoOp, `Queue(support,,,,30)`;
 *   `ser-continue,hangup` -> NoOp, `Hangup(16)`); unknown entries run `NoOp()` and the channel stays
 *   up in it. `Hangup(n)` ends the call; `Queue()` only records where the caller waits. `SimChannelInfo.leftStasisWith` holds the variables the dialplan saw on leaving
 *   Stasis (e.g. QUEUE_PRIO), `dialplanApp`/`dialplanAppData` where the channel now is.
 * - Agents (`addAgent`) are PJSIP endpoints: `answer` (after `answerAfterMs`, optionally hanging up
 *   after `hangupAfterMs`), `no-answer` (rings until the originate/dial timeout, then cause 19),
 *   `busy` (Dial BUSY, cause 17), `offline` (endpoint state offline; originate fails with
 *   500 {"error":"Allocation failed"}, as ast_request does for an unreachable endpoint).
 * - Local channels (originate/create to `Local/<exten>@<context>`) come in two halves: `;1` (the
 *   returned channel) and `;2` (id `otherChannelId`, else `<channelId>;2`, else a unique id), which
 *   runs that extension of the dialplan table (Answer() waits 500 ms for media); an app that
 *   originated with app= gets the `;2` events too. Either half's end ends both (recorded in 01, 05, 06).
 *   `addAgent('Local/...')` sets how the dial string answers; Local has no endpoints (subscription 422).
 * - `transmitSilence` (default true): off, a whisper to a caller in Wait() finishes `done` but is not
 *   in the caller's `heard` list (hearing.ts).
 * - Media: a caller's `audio` (8 kHz, [-1, 1]) runs on the wall clock from placeCall; a bridged
 *   agent's `audio` is what the caller hears (spy=out). An externalMedia channel sends RTP from its
 *   own UDP socket (UNICASTRTP_LOCAL_PORT) while bridged with a snoop or an endpoint channel.
 * - Sounds: `sound:<name>` plays only for names in `sounds` (default DEFAULT_SOUNDS); any other
 *   answers 201 and then fails (PlaybackFinished `failed`), as a missing file does in 11.
 * - Holding bridges: bridge MOH stops for good when a member leaves and only the announcer would be
 *   left (10): later callers hear silence until MOH is started again; DELETE .../moh then answers 409.
 * - Faults: `setSilentTaps(n)` (the next n externalMedia channels never send RTP),
 *   `maxExternalMedia` (beyond it externalMedia answers 500 {"error":"Allocation failed"}: chan_rtp
 *   cannot get an RTP port, so the channel cannot be allocated), `restart(downMs)`,
 *   `dropWebsockets()`, `restLatencyMs`.
 *
 * - Apps: one websocket per app name; a newer one replaces the older (ApplicationReplaced), as in
 *   Asterisk. Event delivery and REST responses: a POST's events go out after its response, except
 *   snoop, whose StasisStart goes out before it (the race seen in the recordings).
 *
 * Additions beyond the agreed interface: `placeCall` options `endpoint`, `exten`, `afterStasis`;
 * `SimAgentSpec.hangupAfterMs`; `SimChannelInfo.kind`, `dialplanAppData`, `leftStasisWith`,
 * `snoopOf`, `rtp`; `port`, `rtpHost`; `start()` options `rtpHost`, `soundDurationMs`,
 * `dialplan`; the `rest` event also fires for websocket connects (status 101) and refusals.
 */
import { EventEmitter } from 'eventemitter3';
import type { Logger } from '../../log/logger.js';
import { RtpPacer } from '../rtp-sender.js';
import { AppHub } from './apps.js';
import { AriHttpServer, type RestLog } from './http.js';
import { IdSource } from './ids.js';
import { TapScheduler } from './media.js';
import type { SimChannel } from './model.js';
import { DEFAULT_DIALPLAN, SimPbx, type DialplanTable } from './pbx.js';
import { DEFAULT_SOUNDS } from './sounds.js';
import { bridgeRoutes } from './rest-bridges.js';
import { channelRoutes } from './rest-channels.js';
import { miscRoutes } from './rest-misc.js';
import { Router } from './router.js';
import { asteriskTime } from './time.js';

export interface SimCallerSpec {
  number?: string;
  name?: string;
  audio?: Float32Array;
  loop?: boolean;
  context?: string;
  stasisArgs: string[];
  /** default 'ser' */
  app?: string;
  /** The inbound endpoint, default 'PJSIP/trunk'. */
  endpoint?: string;
  /** The dialled extension (dialplan.exten), default '100'. */
  exten?: string;
  /** The dialplan application after Stasis() (continue without a target, or Stasis failed), default 'Wait(600)'. */
  afterStasis?: string;
}

export interface SimAgentSpec {
  /** 'PJSIP/1001' */
  endpoint: string;
  behaviour: 'answer' | 'no-answer' | 'busy' | 'offline';
  answerAfterMs?: number;
  /** Answered agents hang up by themselves after this long. */
  hangupAfterMs?: number;
  audio?: Float32Array;
}

export interface SimChannelInfo {
  id: string;
  name: string;
  state: string;
  inStasis: boolean;
  app: string | null;
  bridgeIds: string[];
  variables: Record<string, string>;
  dialplanApp: string | null;
  stasisStatus: 'RUNNING' | 'FAILED' | null;
  hungUp: boolean;
  /** `local`: the `;2` half of a Local channel (id `<channelId>;2` with a preset channelId), which runs the dialplan. */
  kind: 'caller' | 'originated' | 'local' | 'snoop' | 'external';
  dialplanAppData: string | null;
  /** Where in the dialplan the channel is (context, extension). */
  context: string;
  exten: string;
  leftStasisWith: Record<string, string> | null;
  snoopOf: string | null;
  /** Snoop channels: what they hear (spy) and send (whisper); 'none' for other channels. */
  spy: 'none' | 'in' | 'out' | 'both';
  whisper: 'none' | 'in' | 'out' | 'both';
  /** Local channels: the other half's id. */
  localPeer: string | null;
  /** Media played to the end that reached this channel's far end (see hearing.ts). */
  heard: string[];
  /** externalMedia channels: where RTP goes, from which local port, and how much was sent. */
  rtp: { to: string; localPort: number; format: string; sent: number; active: boolean; silent: boolean; ssrc: number } | null;
}

export interface SimBridgeInfo {
  id: string;
  type: string;
  channelIds: string[];
  /** The MOH class its members hear, or null when no music plays. */
  moh: string | null;
}

export interface AriSimulatorOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  restLatencyMs?: number;
  maxExternalMedia?: number;
  logger?: Logger;
  /** Address externalMedia sockets bind to (UNICASTRTP_LOCAL_ADDRESS); default `host`. */
  rtpHost?: string;
  /** How long a `sound:` (or any non-tone) playback lasts; default 1000 ms. */
  soundDurationMs?: number;
  /** The sounds installed (`sound:<name>` plays); any other fails as a missing file does. Default DEFAULT_SOUNDS. */
  sounds?: readonly string[];
  /**
   * How long after its 200 an externalMedia channel enters Stasis (default 3 ms). Asterisk's answer
   * does not wait for it (13): until then, addChannel with it answers 422.
   */
  externalMediaStasisDelayMs?: number;
  dialplan?: DialplanTable;
  /**
   * asterisk.conf `transmit_silence` (default true, as README tells admins to set it). When false, a
   * whisper to a caller in a silent application (Wait()) is reported `done` but not heard.
   */
  transmitSilence?: boolean;
}

type SimEvents = {
  rest: [{ method: string; path: string; query: Record<string, string>; status: number }];
  event: [app: string, event: object];
};

export class AriSimulator extends EventEmitter<SimEvents> {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly rtpHost: string;
  #port: number;
  readonly #logger: Logger | undefined;
  readonly #ids = new IdSource();
  readonly #hub: AppHub;
  readonly #pbx: SimPbx;
  readonly #pacer: RtpPacer;
  readonly #http: AriHttpServer;
  #startedAt = asteriskTime();
  #stopped = false;

  private constructor(opts: AriSimulatorOptions, pacer: RtpPacer) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    this.rtpHost = opts.rtpHost ?? this.host;
    this.#port = opts.port ?? 0;
    this.user = opts.user ?? 'ser';
    this.password = opts.password ?? 'ser';
    this.#logger = opts.logger;
    this.#pacer = pacer;
    this.#hub = new AppHub((app, event) => this.emit('event', app, event));
    this.#pbx = new SimPbx({
      ids: this.#ids,
      hub: this.#hub,
      taps: new TapScheduler(pacer),
      soundDurationMs: opts.soundDurationMs ?? 1000,
      sounds: new Set(opts.sounds ?? DEFAULT_SOUNDS),
      dialplan: { ...DEFAULT_DIALPLAN, ...opts.dialplan },
      transmitSilence: opts.transmitSilence ?? true,
    });
    const router = new Router();
    const routes = [
      ...channelRoutes(this.#pbx, {
        rtpHost: this.rtpHost,
        maxExternalMedia: opts.maxExternalMedia ?? Infinity,
        stasisDelayMs: opts.externalMediaStasisDelayMs ?? 3,
      }),
      ...bridgeRoutes(this.#pbx),
      ...miscRoutes(this.#pbx, this.#hub, () => this.#startedAt),
    ];
    for (const route of routes) router.add(route);
    this.#http = new AriHttpServer({
      user: this.user,
      password: this.password,
      restLatencyMs: opts.restLatencyMs ?? 0,
      router,
      hub: this.#hub,
      ...(opts.logger ? { logger: opts.logger } : {}),
      onRest: (entry: RestLog) => this.emit('rest', entry),
    });
  }

  static async start(opts: AriSimulatorOptions = {}): Promise<AriSimulator> {
    const pacer = await RtpPacer.create(opts.rtpHost ?? opts.host ?? '127.0.0.1');
    const sim = new AriSimulator(opts, pacer);
    sim.#port = await sim.#http.listen(sim.host, sim.#port);
    sim.#logger?.info({ url: sim.url }, 'ARI simulator listening');
    return sim;
  }

  /** `http://127.0.0.1:PORT`: what ari-client is given. */
  get url(): string {
    return `http://${this.host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** A caller dials in and runs Stasis(app, ...stasisArgs). Resolves after StasisStart was sent (or Stasis failed). */
  async placeCall(spec: SimCallerSpec): Promise<string> {
    const ch = this.#pbx.placeCall({
      number: spec.number ?? '',
      name: spec.name ?? '',
      audio: spec.audio ?? null,
      loop: spec.loop ?? false,
      context: spec.context ?? 'ser-in',
      exten: spec.exten ?? '100',
      endpoint: spec.endpoint ?? 'PJSIP/trunk',
      app: spec.app ?? 'ser',
      args: spec.stasisArgs,
      afterStasis: spec.afterStasis ?? 'Wait(600)',
    });
    return ch.id;
  }

  /**
   * The far end hangs up (Q.850 `cause`, default 16). For a Local channel (either half) that is its
   * `;2` half running Hangup(). Unknown or ended channels are ignored.
   */
  hangup(channelId: string, cause = 16): void {
    const ch = this.#pbx.channels.get(channelId);
    if (ch) this.#pbx.farEndHangup(ch, cause);
  }

  /**
   * The caller's dialplan moves on outside Stasis: runs these applications in order, as the next
   * priorities would (e.g. `Stasis(ser,decide)` at a menu's decision point, then `Queue(support)`).
   * Ignored for a channel that is gone or still in Stasis.
   */
  runDialplan(channelId: string, ...applications: string[]): void {
    const ch = this.#pbx.channels.get(channelId);
    if (ch && !ch.hungUp && ch.stasisApp === null) this.#pbx.runDialplan(ch, ...applications);
  }

  addAgent(spec: SimAgentSpec): void {
    this.#pbx.addAgent(spec.endpoint, {
      behaviour: spec.behaviour,
      answerAfterMs: spec.answerAfterMs ?? 0,
      hangupAfterMs: spec.hangupAfterMs ?? null,
      audio: spec.audio ?? null,
    });
  }

  /** The next `n` externalMedia channels never send RTP (a known real Asterisk failure). */
  setSilentTaps(n: number): void {
    this.#pbx.silentTaps = Math.max(0, Math.floor(n));
  }

  channels(): SimChannelInfo[] {
    return [...this.#pbx.channels.values()].map((c) => this.#info(c));
  }

  channel(id: string): SimChannelInfo | undefined {
    const ch = this.#pbx.channels.get(id);
    return ch && this.#info(ch);
  }

  bridges(): SimBridgeInfo[] {
    return [...this.#pbx.bridges.values()].map((b) => ({ id: b.id, type: b.type, channelIds: [...b.channels], moh: b.moh }));
  }

  /**
   * An Asterisk restart: every websocket dropped, every channel, bridge and subscription lost
   * (no events), the port closed for `downMs`, then back on the same port with new channel ids.
   */
  async restart(downMs = 500): Promise<void> {
    this.#hub.reset();
    this.#pbx.reset();
    await this.#http.close();
    this.#ids.reboot();
    await new Promise((r) => setTimeout(r, downMs));
    if (this.#stopped) return;
    this.#startedAt = asteriskTime();
    this.#port = await this.#http.listen(this.host, this.#port);
  }

  /** A network blip: websockets cut, channels and bridges kept. */
  dropWebsockets(): void {
    this.#hub.dropSockets();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#hub.reset();
    this.#pbx.reset();
    await this.#http.close();
    await this.#pacer.close();
  }

  #info(ch: SimChannel): SimChannelInfo {
    const tap = this.#pbx.tapStats(ch.id);
    return {
      id: ch.id,
      name: ch.name,
      state: ch.state,
      inStasis: ch.stasisApp !== null,
      app: ch.stasisApp,
      bridgeIds: ch.bridgeId ? [ch.bridgeId] : [],
      variables: Object.fromEntries(ch.variables),
      dialplanApp: ch.dialplanApp,
      stasisStatus: ch.stasisApp ? 'RUNNING' : ch.stasisFailed ? 'FAILED' : null,
      hungUp: ch.hungUp,
      kind: ch.kind,
      dialplanAppData: ch.dialplanAppData,
      context: ch.dialplan.context,
      exten: ch.dialplan.exten,
      leftStasisWith: ch.leftStasisWith ? { ...ch.leftStasisWith } : null,
      snoopOf: ch.snoopOf,
      spy: ch.spy,
      whisper: ch.whisper,
      localPeer: ch.localPeer,
      heard: [...ch.heardMedia],
      rtp:
        ch.external && tap
          ? { to: `${ch.external.host}:${ch.external.port}`, localPort: ch.external.localPort, format: ch.external.format, ...tap }
          : null,
    };
  }
}

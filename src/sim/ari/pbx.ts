import type { Socket } from 'node:dgram';
import type { AppHub } from './apps.js';
import { causeText } from './causes.js';
import { receivesFrames, whisperReaches } from './hearing.js';
import type { IdSource } from './ids.js';
import { AudioSource, TapStream, type MediaFormat, type TapScheduler } from './media.js';
import { SimBridge, SimChannel, type ChannelState, type PlaybackJson, type SpyDirection } from './model.js';
import { asteriskTime } from './time.js';

/**
 * The simulated switch: channels, bridges, playbacks, endpoints, and the events their changes
 * cause, in the order the recordings in shared/asterisk/recorded show. Validation of REST input
 * lives in rest-*.ts; everything here assumes valid arguments.
 *
 * Who hears a channel's events: the app whose Stasis it is in, the apps that created it
 * (originate/create/externalMedia with app=, until it is destroyed), and explicit subscribers.
 * A caller that entered Stasis from the dialplan is heard only while in Stasis, so it gets StasisEnd
 * but no ChannelDestroyed; a snoop likewise. Bridge events also go to the apps that put channels in
 * the bridge (refcounted, so removeChannel can drop the subscription: recorded in 05).
 */

export interface AgentBehaviour {
  behaviour: 'answer' | 'no-answer' | 'busy' | 'offline';
  answerAfterMs: number;
  hangupAfterMs: number | null;
  audio: Float32Array | null;
}

export interface SimEndpoint {
  technology: string;
  resource: string;
  agent: AgentBehaviour | null;
}

interface Playback {
  json: PlaybackJson;
  targetKind: 'channel' | 'bridge';
  targetId: string;
  timer: NodeJS.Timeout | null;
  /** Channels the media reaches (hearing.ts), decided when it starts. */
  listeners: SimChannel[];
}

interface Tap {
  socket: Socket;
  stream: TapStream;
  silent: boolean;
  /** Bridge members feeding this externalMedia channel. */
  feeders: SimChannel[];
}

/** context -> extension -> the applications from priority 1 on; the channel stays in the last one. */
export interface DialplanTable {
  [context: string]: { [extension: string]: string[] };
}

/** As shared/asterisk/conf/extensions.conf. */
export const DEFAULT_DIALPLAN: DialplanTable = {
  caller: {
    play: ['Answer()', 'Playback(custom/prompt)', 'Hangup()'],
    loop: ['Answer()', 'Playback(custom/prompt)'],
    echo: ['Answer()', 'Echo()'],
    silent: ['Answer()', 'Wait(600)', 'Hangup()'],
  },
  agents: {
    agent1: ['NoOp(agent1 answering)', 'Answer()', 'Echo()'],
    agent2: ['Answer()', 'Echo()'],
  },
  'ser-continue': {
    queue: ['NoOp(continued into queue)', 'Queue(support,,,,30)'],
    hangup: ['NoOp(SER decided to hang up)', 'Hangup(16)'],
    moh: ['Answer()', 'MusicOnHold(default,20)'],
  },
};

/** What the `;2` half of a Local channel to an extension missing from the table runs. */
const LOCAL_DEFAULT_EXTENSION = ['Answer()', 'Wait(600)'];

/** Answer() waits up to 500 ms for media before the next priority (shared/asterisk/README.md, recorded in 01 and 05). */
const ANSWER_MEDIA_WAIT_MS = 500;

/** Dialplan applications that return at once; a `;2` half stops at the first application not in here. */
const INSTANT_APPLICATIONS = new Set(['NoOp', 'Set', 'Answer', 'Progress', 'Ringing', 'Goto']);

/** Variables app_queue sets (empty) when a caller enters Queue() (recorded in 04). */
const QUEUE_ENTRY_VARIABLES = ['ANSWEREDTIME', 'ANSWEREDTIME_MS', 'DIALEDTIME', 'DIALEDTIME_MS', 'QUEUEWAIT', 'QUEUEWAIT_MS'];

export interface PbxOptions {
  ids: IdSource;
  hub: AppHub;
  taps: TapScheduler;
  soundDurationMs: number;
  /** Names `sound:<name>` can play; any other sound fails as a missing file does (11). */
  sounds: ReadonlySet<string>;
  dialplan: DialplanTable;
  /** asterisk.conf `transmit_silence`: channels in a silent application still get (silence) frames, so a whisper is heard. */
  transmitSilence: boolean;
}

type EventFields = Record<string, unknown>;

export class SimPbx {
  readonly channels = new Map<string, SimChannel>();
  readonly bridges = new Map<string, SimBridge>();
  readonly playbacks = new Map<string, Playback>();
  readonly endpoints = new Map<string, SimEndpoint>();
  readonly #ids: IdSource;
  readonly #hub: AppHub;
  readonly #scheduler: TapScheduler;
  readonly #opts: PbxOptions;
  readonly #taps = new Map<string, Tap>();
  readonly #timers = new Map<string, Set<NodeJS.Timeout>>();
  readonly #localAgents = new Map<string, AgentBehaviour>();
  silentTaps = 0;

  constructor(opts: PbxOptions) {
    this.#opts = opts;
    this.#ids = opts.ids;
    this.#hub = opts.hub;
    this.#scheduler = opts.taps;
  }

  get ids(): IdSource {
    return this.#ids;
  }

  // ---------------------------------------------------------------- events

  channelTargets(ch: SimChannel): Set<string> {
    const apps = new Set<string>(ch.ownerApps);
    if (ch.stasisApp) apps.add(ch.stasisApp);
    for (const app of this.#hub.subscribersOf('channels', ch.id)) apps.add(app);
    if (ch.endpoint) for (const app of this.#hub.subscribersOf('endpoints', ch.endpoint)) apps.add(app);
    for (const app of this.#hub.subscribedAll()) apps.add(app);
    return apps;
  }

  bridgeTargets(bridge: SimBridge): Set<string> {
    const apps = new Set<string>();
    for (const [app, n] of bridge.subscribers) if (n > 0) apps.add(app);
    for (const app of this.#hub.subscribersOf('bridges', bridge.id)) apps.add(app);
    for (const app of this.#hub.subscribedAll()) apps.add(app);
    return apps;
  }

  #emit(targets: Iterable<string>, type: string, fields: EventFields, leading: EventFields = {}): void {
    this.#hub.deliver(targets, { ...leading, type, timestamp: asteriskTime(), ...fields });
  }

  #emitChannel(ch: SimChannel, type: string, fields: EventFields = {}, leading: EventFields = {}): void {
    this.#emit(this.channelTargets(ch), type, { ...fields, channel: ch.toJSON() }, leading);
  }

  #varset(ch: SimChannel, variable: string, value: string): void {
    ch.variables.set(variable, value);
    this.#emitChannel(ch, 'ChannelVarset', {}, { variable, value });
  }

  /** ARI's own dials carry no `caller` in the Dial event, even with ?caller= (recorded in 05). */
  #dial(peer: SimChannel, dialstatus: string, dialstring: string): void {
    this.#emit(this.channelTargets(peer), 'Dial', { dialstatus, forward: '', dialstring, peer: peer.toJSON() });
  }

  #setState(ch: SimChannel, state: ChannelState): void {
    if (ch.state === state) return;
    ch.state = state;
    this.#emitChannel(ch, 'ChannelStateChange');
  }

  // ---------------------------------------------------------------- timers

  #after(ch: SimChannel, ms: number, fn: () => void): void {
    let set = this.#timers.get(ch.id);
    if (!set) this.#timers.set(ch.id, (set = new Set()));
    const timer = setTimeout(() => {
      set.delete(timer);
      fn();
    }, ms);
    set.add(timer);
  }

  #cancelTimers(ch: SimChannel): void {
    for (const t of this.#timers.get(ch.id) ?? []) clearTimeout(t);
    this.#timers.delete(ch.id);
  }

  // ---------------------------------------------------------------- Stasis and dialplan

  /** Stasis(app,args) from the dialplan; fails at once (STASISSTATUS=FAILED) if the app has no websocket. */
  enterStasisFromDialplan(ch: SimChannel, app: string, args: string[]): boolean {
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    if (!this.#hub.isActive(app)) {
      ch.stasisFailed = true;
      ch.variables.set('STASISSTATUS', 'FAILED');
      this.runDialplan(ch, ...ch.afterStasis);
      return false;
    }
    ch.stasisApp = app;
    ch.dialplanApp = null;
    ch.dialplanAppData = null;
    this.#emitChannel(ch, 'StasisStart', {}, { args });
    return true;
  }

  /** Stasis entry of a channel the app created (originate, create, externalMedia, snoop). */
  #enterStasisAsCreated(ch: SimChannel, app: string, args: string[], opts: { varset: boolean }): boolean {
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    if (!this.#hub.isActive(app)) {
      // "Stasis app 'ser' doesn't exist": the channel is hung up.
      this.#destroy(ch, 16);
      return false;
    }
    if (opts.varset) this.#varset(ch, 'STASISSTATUS', '');
    ch.stasisApp = app;
    this.#emitChannel(ch, 'StasisStart', {}, { args });
    return true;
  }

  leaveStasis(ch: SimChannel): void {
    if (!ch.stasisApp) return;
    for (const pb of [...this.playbacks.values()]) if (pb.targetKind === 'channel' && pb.targetId === ch.id) this.stopPlayback(pb.json.id);
    this.#emitChannel(ch, 'StasisEnd');
    ch.stasisApp = null;
    ch.leftStasisWith = Object.fromEntries(ch.variables);
    this.#varset(ch, 'STASISSTATUS', 'SUCCESS');
  }

  /** POST /continue: back to the dialplan, at `context,exten` or after the Stasis() line. */
  continueInDialplan(ch: SimChannel, target: { context?: string; extension?: string; priority?: number }): void {
    this.leaveStasis(ch);
    let apps = ch.afterStasis;
    if (target.context || target.extension) {
      const context = target.context ?? ch.dialplan.context;
      const exten = target.extension ?? ch.dialplan.exten;
      ch.dialplan = { ...ch.dialplan, context, exten, priority: target.priority ?? 1 };
      apps = this.#opts.dialplan[context]?.[exten] ?? ['NoOp()'];
    }
    this.runDialplan(ch, ...apps);
  }

  /**
   * Runs dialplan applications outside Stasis, one priority each: `Hangup(n)` ends the call,
   * `Queue(...)` sets app_queue's entry variables, and the channel stays in the last one.
   */
  runDialplan(ch: SimChannel, ...applications: string[]): void {
    for (const application of applications) {
      if (ch.hungUp) return;
      const m = /^(\w+)\((.*)\)$/.exec(application.trim());
      const name = m?.[1] ?? application.trim();
      const data = m?.[2] ?? '';
      ch.dialplanApp = name;
      ch.dialplanAppData = data;
      ch.dialplan = { ...ch.dialplan, app_name: name, app_data: data };
      this.#emitChannel(ch, 'ChannelDialplan', { dialplan_app: name, dialplan_app_data: data });
      if (name === 'Stasis') {
        // The rest of the dialplan runs when the app continues the channel (or Stasis fails).
        const [app = '', ...args] = data.split(',');
        const rest = applications.slice(applications.indexOf(application) + 1);
        if (rest.length > 0) ch.afterStasis = rest;
        this.enterStasisFromDialplan(ch, app, args);
        return;
      }
      if (name === 'Queue') for (const v of QUEUE_ENTRY_VARIABLES) this.#varset(ch, v, '');
      if (name === 'Hangup') {
        const cause = Number.parseInt(data, 10);
        // Hangup() is a soft hang-up of the channel itself (recorded for a Local ;2 half in 01).
        this.hangupChannel(ch, { cause: Number.isFinite(cause) ? cause : 16, byAri: false, soft: true });
        return;
      }
      ch.dialplan.priority++;
    }
    ch.dialplan.priority = Math.max(1, ch.dialplan.priority - 1);
  }

  // ---------------------------------------------------------------- callers

  /** An inbound call (PJSIP) that runs `Stasis(app,args...)` in `context`. */
  placeCall(spec: {
    number: string;
    name: string;
    audio: Float32Array | null;
    loop: boolean;
    context: string;
    exten: string;
    endpoint: string;
    app: string;
    args: string[];
    afterStasis: string;
  }): SimChannel {
    const [tech = 'PJSIP', resource = 'trunk'] = spec.endpoint.split('/');
    this.#ensureEndpoint(tech, resource);
    const ch = new SimChannel({
      id: this.#ids.uniqueId(),
      name: this.#ids.pjsipName(resource),
      kind: 'caller',
      endpoint: `${tech}/${resource}`,
      state: 'Up',
      dialplan: { context: spec.context, exten: spec.exten, priority: 2, app_name: 'Answer', app_data: '' },
    });
    ch.caller = { name: spec.name, number: spec.number };
    ch.afterStasis = [spec.afterStasis];
    if (spec.audio) ch.audio = new AudioSource(spec.audio, spec.loop);
    this.channels.set(ch.id, ch);
    ch.dialplan.priority = 3;
    this.enterStasisFromDialplan(ch, spec.app, spec.args);
    return ch;
  }

  #ensureEndpoint(technology: string, resource: string): SimEndpoint {
    const key = `${technology}/${resource}`;
    let ep = this.endpoints.get(key);
    if (!ep) this.endpoints.set(key, (ep = { technology, resource, agent: null }));
    return ep;
  }

  /** chan_local has no endpoints (GET /endpoints lists none): a Local agent is only how its dial string answers. */
  addAgent(endpoint: string, agent: AgentBehaviour): void {
    const [technology = 'PJSIP', resource = endpoint] = endpoint.split('/');
    if (technology === 'Local') this.#localAgents.set(resource, agent);
    else this.endpoints.set(`${technology}/${resource}`, { technology, resource, agent });
  }

  endpointState(ep: SimEndpoint): 'online' | 'offline' {
    return ep.agent?.behaviour === 'offline' ? 'offline' : 'online';
  }

  // ---------------------------------------------------------------- originate / create / dial

  /**
   * Allocates an outgoing channel to `endpoint` (validated: known tech, reachable endpoint). A Local
   * channel comes with its `;2` half (id `otherId`), in state Ring at priority 1 of the extension it dials.
   */
  allocateOutgoing(opts: {
    id: string;
    otherId: string;
    tech: string;
    resource: string;
    app: string | null;
    callerId: { name: string; number: string } | null;
    context: string | null;
    extension: string | null;
    priority: number | null;
  }): SimChannel {
    const local = opts.tech === 'Local';
    const [exten = 's', context = 'default'] = local ? opts.resource.split('@') : [];
    const [name1, name2] = local ? this.#ids.localNames(opts.resource) : [this.#ids.pjsipName(endpointOf(opts.resource)), ''];
    const ch = new SimChannel({
      id: opts.id,
      name: name1,
      kind: 'originated',
      endpoint: local ? null : `${opts.tech}/${endpointOf(opts.resource)}`,
      state: 'Down',
      dialplan: local
        ? { context, exten, priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' }
        : { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' },
    });
    if (opts.callerId) {
      ch.caller = { ...opts.callerId };
      ch.connected = { ...opts.callerId };
    }
    if (opts.app) ch.ownerApps.add(opts.app);
    this.channels.set(ch.id, ch);
    if (local) {
      const half = new SimChannel({
        id: opts.otherId,
        name: name2,
        kind: 'local',
        state: 'Ring',
        dialplan: { context, exten, priority: 1, app_name: '', app_data: '' },
      });
      half.caller = { ...ch.caller };
      half.connected = { ...ch.connected };
      half.localPeer = ch.id;
      ch.localPeer = half.id;
      this.channels.set(half.id, half);
    }
    return ch;
  }

  #localPeer(ch: SimChannel): SimChannel | null {
    const peer = ch.localPeer ? this.channels.get(ch.localPeer) : undefined;
    return peer && !peer.hungUp ? peer : null;
  }

  #agentOf(ch: SimChannel): AgentBehaviour | null {
    if (ch.technology === 'Local') return this.#localAgents.get(this.#dialString(ch)) ?? null;
    return ch.endpoint ? (this.endpoints.get(ch.endpoint)?.agent ?? null) : null;
  }

  #dialString(ch: SimChannel): string {
    if (ch.technology === 'Local') return ch.name.slice('Local/'.length, ch.name.lastIndexOf('-'));
    return ch.endpoint?.split('/')[1] ?? '';
  }

  /**
   * POST /channels with app=: rings the endpoint, which answers (and enters Stasis), is busy, or never
   * answers. The app is subscribed to a Local channel's `;2` half too (res/ari/resource_channels.c).
   */
  originateToApp(ch: SimChannel, app: string, args: string[], timeoutSec: number): void {
    this.#localPeer(ch)?.ownerApps.add(app);
    this.#ring(ch, timeoutSec, () => this.#enterStasisAsCreated(ch, app, args, { varset: true }));
  }

  /** POST /channels with extension= (no app): the channel answers and runs the dialplan there. */
  originateToDialplan(ch: SimChannel, context: string, extension: string): void {
    this.#ring(ch, 30, () => {
      ch.dialplan = { ...ch.dialplan, context, exten: extension, priority: 1 };
      this.runDialplan(ch, ...(this.#opts.dialplan[context]?.[extension] ?? ['Wait(600)']));
    });
  }

  /** POST /channels/create: the channel is in Stasis at once, still Down (recorded in 05). */
  createInStasis(ch: SimChannel, app: string, args: string[]): void {
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    this.#emitChannel(ch, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: ch.dialplan.app_data });
    this.#enterStasisAsCreated(ch, app, args, { varset: true });
  }

  /** POST /channels/{id}/dial on a created channel. */
  dial(ch: SimChannel, timeoutSec: number): void {
    this.#ring(ch, timeoutSec, () => {});
  }

  #ring(ch: SimChannel, timeoutSec: number, onAnswer: () => void): void {
    const dialstring = this.#dialString(ch);
    const half = this.#localPeer(ch);
    if (half && (half.caller.name || half.caller.number)) {
      this.#emitChannel(half, 'ChannelCallerId', { caller_presentation: 0, caller_presentation_txt: 'Presentation Allowed, Not Screened' });
      this.#emitChannel(half, 'ChannelConnectedLine');
    }
    this.#dial(ch, '', dialstring);
    const agent = this.#agentOf(ch);
    const behaviour = agent?.behaviour ?? 'answer';
    const noAnswer = () => {
      if (timeoutSec <= 0) return;
      this.#after(ch, timeoutSec * 1000, () => {
        this.#dial(ch, 'NOANSWER', dialstring);
        this.hangupChannel(ch, { cause: 19, byAri: false });
      });
    };
    if (behaviour === 'busy') {
      this.#after(ch, 0, () => {
        this.#dial(ch, 'BUSY', dialstring);
        this.hangupChannel(ch, { cause: 17, byAri: false });
      });
      return;
    }
    if (behaviour === 'no-answer') {
      noAnswer();
      return;
    }
    this.#after(ch, agent?.answerAfterMs ?? 0, () => {
      if (ch.hungUp) return;
      if (half && !this.#runLocalHalf(half)) {
        noAnswer();
        return;
      }
      this.#setState(ch, 'Up');
      this.#dial(ch, 'ANSWER', dialstring);
      if (agent?.audio) ch.audio = new AudioSource(agent.audio, true);
      onAnswer();
      if (agent?.hangupAfterMs != null && !ch.hungUp) this.#after(ch, agent.hangupAfterMs, () => this.hangupChannel(ch, { cause: 16, byAri: false }));
    });
  }

  answer(ch: SimChannel): void {
    this.#setState(ch, 'Up');
  }

  /**
   * The `;2` half runs its extension up to Answer() and answers (true), or stops at the first
   * application that waits without answering (false: the `;1` keeps ringing). After Answer() it goes
   * on, after the wait for media, up to the next application that waits.
   */
  #runLocalHalf(half: SimChannel): boolean {
    const apps = this.#opts.dialplan[half.dialplan.context]?.[half.dialplan.exten] ?? LOCAL_DEFAULT_EXTENSION;
    const answerAt = apps.findIndex((a) => applicationName(a) === 'Answer');
    const untilWaiting = (list: string[]) => list.slice(0, list.findIndex((a) => !INSTANT_APPLICATIONS.has(applicationName(a))) + 1 || list.length);
    if (answerAt < 0 || untilWaiting(apps).length <= answerAt) {
      this.runDialplan(half, ...untilWaiting(apps));
      return false;
    }
    this.runDialplan(half, ...apps.slice(0, answerAt + 1));
    this.#setState(half, 'Up');
    const rest = untilWaiting(apps.slice(answerAt + 1));
    if (rest.length > 0) {
      this.#after(half, ANSWER_MEDIA_WAIT_MS, () => {
        half.dialplan.priority++;
        this.runDialplan(half, ...rest);
      });
    }
    return true;
  }

  // ---------------------------------------------------------------- variables

  setVariable(ch: SimChannel, name: string, value: string, reportEvents: boolean): void {
    if (reportEvents) ch.reportedVariables.add(name);
    this.#varset(ch, name, value);
  }

  /** Variables and the few dialplan functions the app reads. */
  getVariable(ch: SimChannel, name: string): string | undefined {
    const fn = /^(\w+)\((.*)\)$/.exec(name);
    if (fn) {
      const [, func, arg] = fn;
      if (func === 'CHANNEL') {
        const values: Record<string, string> = {
          state: ch.state,
          name: ch.name,
          uniqueid: ch.id,
          language: 'en',
          audioreadformat: ch.external?.format ?? 'ulaw',
          audionativeformat: `(${ch.external?.format ?? 'ulaw'})`,
        };
        return values[arg ?? ''];
      }
      if (func === 'CALLERID') {
        if (arg === 'num') return ch.caller.number;
        if (arg === 'name') return ch.caller.name;
        if (arg === 'all') return ch.caller.name ? `"${ch.caller.name}" <${ch.caller.number}>` : ch.caller.number;
      }
      return undefined;
    }
    return ch.variables.get(name);
  }

  // ---------------------------------------------------------------- snoop and externalMedia

  snoop(target: SimChannel, opts: { id: string; spy: SpyDirection; whisper: SpyDirection; app: string; args: string[] }): SimChannel {
    const ch = new SimChannel({
      id: opts.id,
      name: this.#ids.snoopName(target.id),
      kind: 'snoop',
      state: 'Up',
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
    });
    ch.snoopOf = target.id;
    ch.spy = opts.spy;
    ch.whisper = opts.whisper;
    this.channels.set(ch.id, ch);
    this.#enterStasisAsCreated(ch, opts.app, opts.args, { varset: false });
    return ch;
  }

  /** Creates the UnicastRTP channel (state Down, as in the response); `startExternalMedia` answers it. */
  createExternalMedia(opts: {
    id: string;
    app: string;
    host: string;
    port: number;
    format: MediaFormat;
    socket: Socket;
    localAddress: string;
  }): SimChannel {
    const hostPort = `${opts.host}:${opts.port}`;
    const ch = new SimChannel({
      id: opts.id,
      name: this.#ids.unicastRtpName(hostPort),
      kind: 'external',
      state: 'Down',
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' },
    });
    const localPort = opts.socket.address().port;
    ch.external = { host: opts.host, port: opts.port, format: opts.format, localAddress: opts.localAddress, localPort };
    ch.variables.set('UNICASTRTP_LOCAL_ADDRESS', opts.localAddress);
    ch.variables.set('UNICASTRTP_LOCAL_PORT', String(localPort));
    ch.ownerApps.add(opts.app);
    this.channels.set(ch.id, ch);
    const tap: Tap = {
      socket: opts.socket,
      silent: this.silentTaps > 0,
      feeders: [],
      stream: new TapStream(opts.socket, { host: opts.host, port: opts.port }, opts.format, () => this.#feed(tap)),
    };
    if (tap.silent) this.silentTaps--;
    this.#taps.set(ch.id, tap);
    return ch;
  }

  startExternalMedia(ch: SimChannel, app: string, args: string[]): void {
    const ext = ch.external!;
    const dialstring = `${ext.host}:${ext.port}/c(${ext.format})`;
    this.#dial(ch, '', dialstring);
    this.#setState(ch, 'Up');
    this.#dial(ch, 'ANSWER', dialstring);
    this.#enterStasisAsCreated(ch, app, args, { varset: true });
  }

  externalMediaCount(): number {
    return this.#taps.size;
  }

  /** Packets sent by an externalMedia channel's stream so far (tests, introspection). */
  tapStats(channelId: string): { sent: number; active: boolean; silent: boolean; ssrc: number } | undefined {
    const tap = this.#taps.get(channelId);
    return tap && { sent: tap.stream.sent, active: tap.stream.active, silent: tap.silent, ssrc: tap.stream.ssrc };
  }

  // ---------------------------------------------------------------- bridges

  createBridge(id: string, type: 'mixing' | 'holding', name: string): SimBridge {
    const bridge = new SimBridge(id, type, name);
    this.bridges.set(id, bridge);
    return bridge;
  }

  addToBridge(bridge: SimBridge, ch: SimChannel): void {
    if (ch.bridgeId === bridge.id) return;
    if (ch.bridgeId) {
      const old = this.bridges.get(ch.bridgeId);
      if (old) this.#leaveBridge(ch, old);
    }
    bridge.channels.push(ch.id);
    ch.bridgeId = bridge.id;
    if (ch.stasisApp) bridge.subscribers.set(ch.stasisApp, (bridge.subscribers.get(ch.stasisApp) ?? 0) + 1);
    this.#emitBridgeChannel('ChannelEnteredBridge', bridge, ch);
    if (bridge.type === 'mixing' && bridge.channels.length >= 2) {
      for (const memberId of bridge.channels) {
        const member = this.channels.get(memberId)!;
        const peers = bridge.channels
          .filter((id) => id !== memberId)
          .map((id) => this.channels.get(id)!.name)
          .join(',');
        if (member.variables.get('BRIDGEPEER') !== peers) this.#varset(member, 'BRIDGEPEER', peers);
      }
    }
    this.#updateMedia(bridge);
  }

  /** POST /bridges/{id}/removeChannel: leaves, and drops one of the app's bridge subscriptions. */
  removeFromBridge(bridge: SimBridge, ch: SimChannel): void {
    this.#leaveBridge(ch, bridge);
    const app = ch.stasisApp;
    if (app) bridge.subscribers.set(app, Math.max(0, (bridge.subscribers.get(app) ?? 0) - 1));
  }

  #leaveBridge(ch: SimChannel, bridge: SimBridge): void {
    const at = bridge.channels.indexOf(ch.id);
    if (at >= 0) bridge.channels.splice(at, 1);
    ch.bridgeId = null;
    ch.heard = null;
    // The MOH announcer joined as a lonely channel: Asterisk kicks it out when the last member leaves (10).
    if (bridge.channels.length === 0) bridge.moh = null;
    if (ch.variables.get('BRIDGEPEER')) this.#varset(ch, 'BRIDGEPEER', '');
    this.#emitBridgeChannel('ChannelLeftBridge', bridge, ch);
    this.#updateMedia(bridge);
  }

  #emitBridgeChannel(type: string, bridge: SimBridge, ch: SimChannel): void {
    const targets = this.channelTargets(ch);
    for (const app of this.bridgeTargets(bridge)) targets.add(app);
    this.#emit(targets, type, { bridge: bridge.toJSON(), channel: ch.toJSON() });
  }

  /** MOH in a mixing bridge comes from an Announcer channel, which members see as their BRIDGEPEER (05). */
  startBridgeMoh(bridge: SimBridge, mohClass: string): void {
    bridge.moh = mohClass;
    if (bridge.type !== 'mixing') return;
    const announcer = this.#ids.announcerName();
    for (const id of bridge.channels) {
      const member = this.channels.get(id);
      if (member && member.variables.get('BRIDGEPEER') !== announcer) this.#varset(member, 'BRIDGEPEER', announcer);
    }
  }

  destroyBridge(bridge: SimBridge): void {
    for (const pb of [...this.playbacks.values()]) if (pb.targetKind === 'bridge' && pb.targetId === bridge.id) this.stopPlayback(pb.json.id);
    for (const id of [...bridge.channels]) {
      const ch = this.channels.get(id);
      if (ch) this.#leaveBridge(ch, bridge);
    }
    this.#emit(this.bridgeTargets(bridge), 'BridgeDestroyed', { bridge: bridge.toJSON() });
    this.bridges.delete(bridge.id);
    this.#hub.forget('bridges', bridge.id);
  }

  /**
   * Who hears whom in a bridge. An externalMedia channel is fed by every other member: a snoop
   * gives its spied channel's audio by direction, an endpoint channel its own voice. Endpoint
   * channels in a mixing bridge hear the other endpoint channel (spy=out of a caller bridged to an
   * agent carries the agent).
   */
  #updateMedia(bridge: SimBridge): void {
    const members = bridge.channels.map((id) => this.channels.get(id)!).filter(Boolean);
    for (const member of members) {
      if (member.kind === 'caller' || member.kind === 'originated') {
        const other = bridge.type === 'mixing' ? members.find((m) => m !== member && (m.kind === 'caller' || m.kind === 'originated')) : undefined;
        member.heard = other?.audio ?? null;
      }
    }
    for (const member of members) {
      const tap = this.#taps.get(member.id);
      if (!tap) continue;
      tap.feeders = bridge.type === 'mixing' ? members.filter((m) => m !== member && m.kind !== 'external') : [];
      if (tap.feeders.length > 0 && !tap.silent) this.#scheduler.run(tap.stream);
      else this.#scheduler.halt(tap.stream);
    }
    // Taps whose channel left this bridge stop too.
    for (const [id, tap] of this.#taps) {
      const ch = this.channels.get(id);
      if (tap.stream.active && (!ch || ch.bridgeId === null)) {
        tap.feeders = [];
        this.#scheduler.halt(tap.stream);
      }
    }
  }

  /** Sources for one externalMedia channel, read per packet so that a bridge change is heard at once. */
  #feed(tap: Tap): (AudioSource | null)[] {
    const out: (AudioSource | null)[] = [];
    for (const m of tap.feeders) {
      if (m.kind !== 'snoop') {
        out.push(m.audio);
        continue;
      }
      const spied = m.snoopOf ? this.channels.get(m.snoopOf) : undefined;
      if (!spied) continue;
      // spy=in: what the snooped channel receives from its far end (the caller's voice); out: what it is sent.
      if (m.spy === 'in' || m.spy === 'both') out.push(spied.audio);
      if (m.spy === 'out' || m.spy === 'both') out.push(spied.heard);
    }
    return out;
  }

  // ---------------------------------------------------------------- playbacks

  /**
   * As recorded in 11: the answer says `queued`; a missing sound gives PlaybackStarted then
   * PlaybackFinished `failed` at once; in a list, a missing item is skipped with PlaybackContinuing
   * and only a list with nothing playable fails.
   */
  play(target: { kind: 'channel' | 'bridge'; id: string }, playbackId: string, media: string[]): PlaybackJson {
    const json: PlaybackJson = { id: playbackId, media_uri: media[0] ?? '', target_uri: `${target.kind}:${target.id}`, language: 'en', state: 'queued' };
    const pb: Playback = { json, targetKind: target.kind, targetId: target.id, timer: null, listeners: [] };
    this.playbacks.set(playbackId, pb);
    const response = { ...json };
    const playable = media.filter((m) => this.#playable(m));
    json.state = 'playing';
    this.#emitPlayback(pb, 'PlaybackStarted');
    if (playable.length === 0) {
      this.stopPlayback(playbackId, 'failed');
      return response;
    }
    for (const [i, m] of media.entries()) {
      if (this.#playable(m) || i === media.length - 1) continue;
      json.media_uri = media[i + 1]!;
      json.state = 'continuing';
      this.#emitPlayback(pb, 'PlaybackContinuing');
      json.state = 'playing';
      this.#emitPlayback(pb, 'PlaybackStarted');
    }
    const endless = playable.every((m) => m.startsWith('tone:'));
    pb.listeners = this.#listeners(target);
    const playedOut = () => {
      for (const ch of pb.listeners) if (!ch.hungUp) ch.heardMedia.push(...playable);
      this.stopPlayback(playbackId);
    };
    if (!endless) pb.timer = setTimeout(playedOut, this.#opts.soundDurationMs * playable.length);
    return response;
  }

  #listeners(target: { kind: 'channel' | 'bridge'; id: string }): SimChannel[] {
    if (target.kind === 'bridge') {
      const ids = this.bridges.get(target.id)?.channels ?? [];
      return ids.map((id) => this.channels.get(id)!).filter((m) => m && m.kind !== 'snoop' && m.kind !== 'external');
    }
    const ch = this.channels.get(target.id);
    if (!ch) return [];
    if (ch.kind !== 'snoop') return [ch];
    const spied = ch.snoopOf ? this.channels.get(ch.snoopOf) : undefined;
    return spied && whisperReaches(ch) && receivesFrames(spied, this.#opts.transmitSilence) ? [spied] : [];
  }

  #playable(media: string): boolean {
    return !media.startsWith('sound:') || this.#opts.sounds.has(media.slice('sound:'.length));
  }

  stopPlayback(id: string, state: 'done' | 'failed' = 'done'): void {
    const pb = this.playbacks.get(id);
    if (!pb) return;
    if (pb.timer) clearTimeout(pb.timer);
    this.playbacks.delete(id);
    pb.json.state = state;
    this.#emitPlayback(pb, 'PlaybackFinished');
  }

  #emitPlayback(pb: Playback, type: string): void {
    let targets: Set<string>;
    if (pb.targetKind === 'channel') {
      const ch = this.channels.get(pb.targetId);
      targets = ch ? this.channelTargets(ch) : new Set();
    } else {
      const bridge = this.bridges.get(pb.targetId);
      targets = bridge ? this.bridgeTargets(bridge) : new Set();
    }
    this.#emit(targets, type, { playback: { ...pb.json } });
  }

  // ---------------------------------------------------------------- hang-up

  /**
   * Ends a channel. `byAri` (DELETE /channels/{id}) gives ChannelHangupRequest cause 32 soft:true,
   * Hangup() in the dialplan its cause soft:true, the far end hanging up its Q.850 cause;
   * ChannelDestroyed carries the Q.850 cause. Either half of a Local channel takes the other with
   * it, the other getting the cause as a hang-up request (recorded in 01, 05, 06).
   */
  hangupChannel(ch: SimChannel, opts: { cause: number; byAri: boolean; soft?: boolean }): void {
    if (ch.hungUp) return;
    ch.hungUp = true;
    this.#cancelTimers(ch);
    const request = opts.byAri ? { cause: 32, soft: true } : opts.soft ? { cause: opts.cause, soft: true } : { cause: opts.cause };
    this.#emitChannel(ch, 'ChannelHangupRequest', {}, request);
    const peer = this.#localPeer(ch);
    if (peer) peer.hungUp = true;
    if (ch.kind === 'local') {
      this.#leaveApplication(ch, opts);
      if (peer) this.#requestPeerHangup(peer, opts.cause);
      this.#destroy(ch, opts.cause);
      if (peer) this.#teardown(peer, opts.cause, false);
      return;
    }
    this.#teardown(ch, opts.cause, opts.byAri, peer ? () => this.#requestPeerHangup(peer, opts.cause) : undefined);
    if (peer) {
      this.#leaveApplication(peer, { byAri: true, cause: 16 });
      this.#destroy(peer, opts.cause);
    }
  }

  /** The far end hangs up: for a Local channel its `;2` half, whose application returns before Hangup() runs (01). */
  farEndHangup(ch: SimChannel, cause: number): void {
    const far = ch.kind === 'local' ? ch : this.#localPeer(ch);
    if (!far) {
      this.hangupChannel(ch, { cause, byAri: false });
      return;
    }
    this.#applicationReturns(far);
    far.dialplan.priority++;
    this.runDialplan(far, cause === 16 ? 'Hangup()' : `Hangup(${cause})`);
  }

  #requestPeerHangup(peer: SimChannel, cause: number): void {
    this.#cancelTimers(peer);
    this.#emitChannel(peer, 'ChannelHangupRequest', {}, { cause });
  }

  /** A dialplan application interrupted by a soft hang-up returns, and the call ends with its Q.850 cause (04, 05, 06). */
  #leaveApplication(ch: SimChannel, opts: { byAri: boolean; cause: number }): void {
    if (ch.stasisApp !== null || ch.dialplanApp === null) return;
    this.#applicationReturns(ch);
    if (opts.byAri) this.#emitChannel(ch, 'ChannelHangupRequest', {}, { cause: opts.cause, soft: true });
  }

  #applicationReturns(ch: SimChannel): void {
    if (ch.dialplanApp === 'Playback') this.#varset(ch, 'PLAYBACKSTATUS', 'SUCCESS');
  }

  #teardown(ch: SimChannel, cause: number, byAri: boolean, beforeDestroy?: () => void): void {
    ch.hungUp = true;
    this.#cancelTimers(ch);
    if (ch.bridgeId) {
      const bridge = this.bridges.get(ch.bridgeId);
      if (bridge) this.#leaveBridge(ch, bridge);
    }
    const inDialplan = ch.stasisApp === null && ch.dialplanApp !== null;
    this.leaveStasis(ch);
    if (byAri && inDialplan) this.#emitChannel(ch, 'ChannelHangupRequest', {}, { cause, soft: true });
    beforeDestroy?.();
    this.#destroy(ch, cause);
  }

  /** A snoop whose spied channel went away: leaves its bridge and Stasis, no hang-up request (recorded in 01, 02, 08). */
  #endSnoop(snoop: SimChannel): void {
    if (snoop.hungUp) return;
    snoop.hungUp = true;
    if (snoop.bridgeId) {
      const bridge = this.bridges.get(snoop.bridgeId);
      if (bridge) this.#leaveBridge(snoop, bridge);
    }
    this.leaveStasis(snoop);
    this.#destroy(snoop, 16);
  }

  #destroy(ch: SimChannel, cause: number): void {
    ch.hungUp = true;
    this.#cancelTimers(ch);
    for (const other of [...this.channels.values()]) if (other.snoopOf === ch.id) this.#endSnoop(other);
    if (ch.kind === 'originated' || ch.kind === 'external') {
      ch.dialplan = { ...ch.dialplan, app_name: 'AppDial2', app_data: '(Outgoing Line)' };
    }
    if (ch.kind === 'local') ch.dialplan = { ...ch.dialplan, app_name: '', app_data: '' };
    this.#emitChannel(ch, 'ChannelDestroyed', { cause, cause_txt: causeText(cause) });
    this.channels.delete(ch.id);
    const peer = this.#localPeer(ch);
    if (peer) this.hangupChannel(peer, { cause, byAri: false });
    this.#hub.forget('channels', ch.id);
    const tap = this.#taps.get(ch.id);
    if (tap) {
      this.#scheduler.halt(tap.stream);
      this.#taps.delete(ch.id);
      tap.socket.close();
    }
  }

  /** Everything gone at once, without events (an Asterisk restart). */
  reset(): void {
    for (const set of this.#timers.values()) for (const t of set) clearTimeout(t);
    this.#timers.clear();
    for (const pb of this.playbacks.values()) if (pb.timer) clearTimeout(pb.timer);
    this.playbacks.clear();
    for (const tap of this.#taps.values()) {
      this.#scheduler.halt(tap.stream);
      tap.socket.close();
    }
    this.#taps.clear();
    for (const ch of this.channels.values()) ch.hungUp = true;
    this.channels.clear();
    this.bridges.clear();
  }
}

function applicationName(application: string): string {
  return /^\s*(\w+)/.exec(application)?.[1] ?? '';
}

/** `1001` -> 1001; `100@loop` dials user 100 at endpoint loop. */
export function endpointOf(resource: string): string {
  const at = resource.indexOf('@');
  return at >= 0 ? resource.slice(at + 1) : resource;
}

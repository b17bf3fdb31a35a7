import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { SimFork } from './fork.js';
import { AUTH_REQUEST, GOODBYE, SHUTTING_DOWN, apiResponse, disconnectNotice, eventJson, eventPlain, reply, type Pairs, type SimEvent } from './wire.js';

/**
 * A FreeSWITCH 1.10.12 with mod_audio_fork as the recordings show it (shared/freeswitch/README.md):
 * the inbound event socket (auth, api, bgapi with Job-UUID, event plain/json, noevents, exit,
 * disconnect notices) and forks that send real L16 frames over WebSocket. The stand-in for
 * FreeSWITCH in tests and (later) in demo mode.
 *
 * ```ts
 * const sim = await FsSimulator.start();                      // 127.0.0.1, port 0, password ClueCon
 * const uuid = sim.placeCall({ audio, number: '15551230001' });  // runs the monitor hook
 * sim.hangup(uuid);                                            // the caller hangs up
 * await sim.stop();
 * ```
 *
 * Model:
 * - A call is the pbx leg `sofia/pbx/<number>@127.0.0.1` (inbound, context `pbx`) running the
 *   dialplan of 07: answer, `event(Event-Subclass=ser::monitor,Event-Name=CUSTOM,ser_mode=monitor,
 *   ser_caller=<number>)`, then park. Events, in the recorded order: CHANNEL_CREATE, CHANNEL_ANSWER,
 *   CHANNEL_EXECUTE event, CUSTOM ser::monitor, CHANNEL_EXECUTE_COMPLETE event, CHANNEL_EXECUTE park,
 *   CHANNEL_PARK. The hook goes only to connections subscribed at that moment: never queued (07a0).
 * - Hang-up: the fork closes 1000, then CHANNEL_HANGUP, CHANNEL_UNPARK, CHANNEL_EXECUTE_COMPLETE park,
 *   CHANNEL_HANGUP_COMPLETE (Hangup-Cause twice, the last variables), CHANNEL_DESTROY.
 * - A fork belongs to the channel, not to the ESL connection (05a): `dropEsl()` leaves it streaming.
 *   `shutdown()` = `fsctl shutdown` (SHUTDOWN event, SYSTEM_SHUTDOWN hang-ups, forks close 1000, the
 *   notice "The system is being shut down.", TCP close); `kill()` = SIGKILL (forks 1006, sockets
 *   destroyed); `restart()` listens again on the same port with no channels (calls never survive).
 * - The caller's voice starts when the fork connects (in 07 the fork started before the caller's
 *   file, so nothing was lost); with `hangupAfterAudio` the caller hangs up once it has been sent
 *   (as the caller leg of 01 did at the end of its file).
 * - `uuid_broadcast <uuid> <file> aleg`: `+OK Message sent`, then CHANNEL_EXECUTE playback,
 *   PLAYBACK_START, after `playbackMs` PLAYBACK_STOP (`Playback-Status: done`) and
 *   CHANNEL_EXECUTE_COMPLETE (`FILE PLAYED`); a hang-up meanwhile gives status `break`. A file not in
 *   `sounds` gives CHANNEL_EXECUTE_COMPLETE with `FILE NOT FOUND` and no PLAYBACK_* events: ASSUMED,
 *   a missing file was not recorded.
 * - mod_callcenter: `uuid_transfer <u> 'set:cc_base_score=N,callcenter:<queue>' inline` (or
 *   `queue-<name> XML <ctx>` when `queueExtensions` maps it) makes the caller a member with a new member
 *   uuid and score = base score (seconds in queue ignored) and fires `callcenter::info`
 *   `member-queue-start` with its headers as in 04; `callcenter_config queue list members <q>`
 *   answers the recorded pipe table ordered by score DESC, old entries `Abandoned`.
 * - mod_fifo: `uuid_transfer <u> fifo-<name> XML <ctx>` (or what `fifoExtensions` maps) puts the caller
 *   in fifo <name> (`fifo::info` push, FIFO-Slot = fifo_priority, 5 when unset: ASSUMED) and **pauses its
 *   fork** (no frames; the caller's audio meanwhile is lost, not queued), as the real mod_fifo pauses a
 *   waiting channel's media bugs (measured, test/real-freeswitch/queue.test.ts). `fifoConsume(name)`
 *   pops the lowest slot (caller_pop, consumer_pop, bridge-caller-start) and resumes the fork; leaving
 *   otherwise (transfer, hang-up) fires `abort` and resumes it.
 * - Only `mono 8k` (or 8000) forks are simulated; other layouts answer `-ERR Operation Failed`.
 * - A fork's media bug stays on the channel from `start` until `stop` or the hang-up, whatever becomes
 *   of its WebSocket (measured on a real FreeSWITCH 1.10.12 with drachtio's mod_audio_fork,
 *   test/real-freeswitch): when the far end drops the connection the switch fires
 *   `mod_audio_fork::disconnect` (no body); while a dead bug (dropped, or never connected) is there a
 *   new `start` answers `-ERR Operation Failed`, `send_text` `+OK Success` (the text goes nowhere) and
 *   `stop` `+OK Success` (it removes the bug); `stop` without a bug fails.
 */
export interface FsSimOptions {
  host?: string;
  port?: number;
  password?: string;
  /** Files uuid_broadcast can play (default: any path under /usr/freeswitch/share/freeswitch/sounds/). */
  sounds?: (path: string) => boolean;
  /** How long a broadcast plays (default 200 ms). */
  playbackMs?: number;
  /** `uuid_transfer <u> <ext> XML <ctx>`: extensions that run `callcenter <queue>` (default queue-<name>). */
  queueExtensions?: (ext: string) => string | null;
  /** `uuid_transfer <u> <ext> XML <ctx>`: extensions that run `fifo <name> in` (default fifo-<name>). */
  fifoExtensions?: (ext: string) => string | null;
}

export interface FsSimCallSpec {
  number?: string;
  name?: string;
  destination?: string;
  audio?: Float32Array;
  /** Fire the ser::monitor hook (default true); false parks the call without it. */
  hook?: boolean;
  hangupAfterAudio?: boolean;
}

export interface SimChannel {
  uuid: string;
  name: string;
  number: string;
  callerName: string;
  destination: string;
  created: number;
  variables: Map<string, string>;
  application: string;
  applicationData: string;
  audio: Float32Array;
  hangupAfterAudio: boolean;
  fork: SimFork | null;
  /**
   * mod_audio_fork's media bug is on the channel: from `start` until `stop` or the hang-up, whatever
   * became of its WebSocket (real FreeSWITCH, test/real-freeswitch: a fork whose far end dropped, or
   * that never connected, keeps its bug; `start` is refused until `stop`).
   */
  forkAttached: boolean;
  forkUrl: string | null;
  forkMetadata: string | null;
  hungUp: boolean;
  cause: string | null;
  transfers: string[];
  broadcasts: { file: string; status: 'playing' | 'done' | 'break' | 'not-found' }[];
  queue: string | null;
  /** The mod_fifo this caller waits in (its fork paused meanwhile), and when it was pushed. */
  fifo: string | null;
  fifoSince: number;
}

export interface FsSimEvents {
  /** Every api/bgapi command and its reply (bgapi replies are the BACKGROUND_JOB body). */
  api: [command: string, reply: string];
  hangup: [uuid: string, cause: string];
}

interface Conn {
  socket: Socket;
  authed: boolean;
  format: 'plain' | 'json' | null;
  all: boolean;
  names: Set<string>;
  subclasses: Set<string>;
}

interface Member {
  queue: string;
  memberUuid: string;
  sessionUuid: string;
  number: string;
  name: string;
  baseScore: number;
  systemEpoch: number;
  joinedEpoch: number;
  state: 'Waiting' | 'Abandoned';
}

const CORE_UUID = '60340950-781a-4de4-8657-3c61732d0c66';
const SOUNDS = '/usr/freeswitch/share/freeswitch/sounds/';

export class FsSimulator extends EventEmitter<FsSimEvents> {
  readonly password: string;
  readonly host: string;
  #port: number;
  readonly #o: FsSimOptions;
  #server: Server | null = null;
  readonly #conns = new Set<Conn>();
  readonly #channels = new Map<string, SimChannel>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #members: Member[] = [];
  readonly #hash = new Map<string, string>();
  #sequence = 1000;

  private constructor(o: FsSimOptions) {
    super();
    this.#o = o;
    this.password = o.password ?? 'ClueCon';
    this.host = o.host ?? '127.0.0.1';
    this.#port = o.port ?? 0;
  }

  static async start(o: FsSimOptions = {}): Promise<FsSimulator> {
    const sim = new FsSimulator(o);
    await sim.#listen();
    return sim;
  }

  get port(): number {
    return this.#port;
  }

  /** ESL connections currently open (authenticated or not). */
  get eslConnections(): number {
    return this.#conns.size;
  }

  channel(uuid: string): SimChannel | undefined {
    return this.#channels.get(uuid);
  }

  channels(): SimChannel[] {
    return [...this.#channels.values()];
  }

  /** A SIP caller reaches the pbx profile and runs the monitor dialplan; returns the pbx leg's uuid. */
  placeCall(spec: FsSimCallSpec = {}): string {
    const uuid = randomUUID();
    const number = spec.number ?? '15551230001';
    const ch: SimChannel = {
      uuid,
      name: `sofia/pbx/${number}@127.0.0.1`,
      number,
      callerName: spec.name ?? 'SimCaller',
      destination: spec.destination ?? 'ser-monitor',
      created: Date.now(),
      variables: new Map([
        ['direction', 'inbound'],
        ['uuid', uuid],
        ['call_uuid', uuid],
        ['sip_from_user', number],
        ['caller_id_number', number],
        ['sip_call_id', randomUUID()],
      ]),
      application: '',
      applicationData: '',
      audio: spec.audio ?? new Float32Array(0),
      hangupAfterAudio: spec.hangupAfterAudio ?? false,
      fork: null,
      forkAttached: false,
      forkUrl: null,
      forkMetadata: null,
      hungUp: false,
      cause: null,
      transfers: [],
      broadcasts: [],
      queue: null,
      fifo: null,
      fifoSince: 0,
    };
    this.#channels.set(uuid, ch);
    this.#emit(this.#channelEvent('CHANNEL_CREATE', ch, 'CS_INIT', 'DOWN'));
    ch.variables.set('answer_state', 'answered');
    this.#emit(this.#channelEvent('CHANNEL_ANSWER', ch, 'CS_EXECUTE', 'ACTIVE'));
    if (spec.hook ?? true) {
      const data = `Event-Subclass=ser::monitor,Event-Name=CUSTOM,ser_mode=monitor,ser_caller=${number}`;
      this.#execute(ch, 'event', data);
      ch.variables.set('current_application', 'event');
      this.#emit({
        name: 'CUSTOM',
        subclass: 'ser::monitor',
        pairs: [['Event-Subclass', 'ser::monitor'], ...this.#envelope('mod_dptools.c', 'event_function', '1902').slice(0), ['Event-Name', 'CUSTOM'], ['ser_mode', 'monitor'], ['ser_caller', number], ...this.#channelPairs(ch, 'CS_EXECUTE', 'ACTIVE'), ...this.#variables(ch)],
      });
      this.#executeComplete(ch, 'event', data, '_none_');
    }
    this.#execute(ch, 'park', '');
    this.#emit(this.#channelEvent('CHANNEL_PARK', ch, 'CS_EXECUTE', 'ACTIVE'));
    return uuid;
  }

  /** The caller hangs up (or FreeSWITCH ends the channel with `cause`). */
  hangup(uuid: string, cause = 'NORMAL_CLEARING'): boolean {
    const ch = this.#channels.get(uuid);
    if (!ch || ch.hungUp) return false;
    ch.hungUp = true;
    ch.cause = cause;
    if (ch.fifo) this.#leaveFifo(ch);
    ch.fork?.close();
    ch.forkAttached = false;
    for (const b of ch.broadcasts) {
      if (b.status !== 'playing') continue;
      b.status = 'break';
      this.#emit(this.#channelEvent('PLAYBACK_STOP', ch, 'CS_EXECUTE', 'ACTIVE', [['Playback-File-Path', b.file], ['Playback-Status', 'break']]));
      this.#executeComplete(ch, 'playback', b.file, 'FILE PLAYED');
    }
    for (const m of this.#members) if (m.sessionUuid === uuid && m.state === 'Waiting') m.state = 'Abandoned';
    this.#emit(this.#channelEvent('CHANNEL_HANGUP', ch, 'CS_HANGUP', 'HANGUP', [], cause));
    if (ch.application === 'park') {
      this.#emit(this.#channelEvent('CHANNEL_UNPARK', ch, 'CS_HANGUP', 'HANGUP', [], cause));
      this.#executeComplete(ch, 'park', '', '_none_', cause);
    }
    this.#emit(this.#channelEvent('CHANNEL_HANGUP_COMPLETE', ch, 'CS_REPORTING', 'HANGUP', [], cause, true));
    this.#emit(this.#channelEvent('CHANNEL_DESTROY', ch, 'CS_DESTROY', 'HANGUP', [], cause));
    this.#channels.delete(uuid);
    this.emit('hangup', uuid, cause);
    return true;
  }

  /** mod_hash entries of a realm (`hash select/<realm>/<key>`), keyed by key. */
  hashEntries(realm: string): Record<string, string> {
    const prefix = `${realm}_`;
    return Object.fromEntries([...this.#hash].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  }

  /** Destroys every ESL socket without `exit` (05a): calls and forks go on. */
  dropEsl(): void {
    for (const c of this.#conns) c.socket.destroy();
    this.#conns.clear();
  }

  /** `fsctl shutdown` (05b). */
  async shutdown(): Promise<void> {
    this.#emit({ name: 'SHUTDOWN', pairs: [['Event-Name', 'SHUTDOWN'], ...this.#envelope('switch_core.c', 'switch_core_destroy', '3044')] });
    for (const uuid of [...this.#channels.keys()]) this.hangup(uuid, 'SYSTEM_SHUTDOWN');
    for (const c of this.#conns) c.socket.end(disconnectNotice(SHUTTING_DOWN));
    this.#conns.clear();
    await this.#close();
  }

  /** SIGKILL (05c): forks see 1006, ESL sockets are destroyed, nothing is sent. */
  async kill(): Promise<void> {
    for (const ch of this.#channels.values()) ch.fork?.kill();
    this.#channels.clear();
    this.dropEsl();
    await this.#close();
  }

  /** Listens again on the same port, with no channels (calls do not survive a restart). */
  async restart(): Promise<void> {
    if (this.#server) await this.kill();
    this.#members.length = 0;
    this.#hash.clear();
    await this.#listen();
  }

  async stop(): Promise<void> {
    for (const ch of this.#channels.values()) ch.fork?.close();
    this.#channels.clear();
    for (const c of this.#conns) c.socket.destroy();
    this.#conns.clear();
    await this.#close();
  }

  async #listen(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.host, () => resolve());
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async #close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise((r) => server.close(r));
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #accept(socket: Socket): void {
    const c: Conn = { socket, authed: false, format: null, all: false, names: new Set(), subclasses: new Set() };
    this.#conns.add(c);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#conns.delete(c));
    socket.write(AUTH_REQUEST);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('utf8');
      for (let i; (i = buf.indexOf('\n\n')) >= 0; ) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        this.#command(c, block);
      }
    });
  }

  #command(c: Conn, block: string): void {
    const [line = '', ...headerLines] = block.split('\n');
    const w = (b: Buffer): void => void (c.socket.writable && c.socket.write(b));
    if (!c.authed) {
      if (!line.startsWith('auth ')) return w(reply('-ERR command not found'));
      if (line.slice(5) !== this.password) {
        w(reply('-ERR invalid'));
        c.socket.end(disconnectNotice(GOODBYE));
        return;
      }
      c.authed = true;
      return w(reply('+OK accepted'));
    }
    if (line.startsWith('api ')) {
      const cmd = line.slice(4);
      const out = this.#api(cmd);
      this.emit('api', cmd, out);
      return w(apiResponse(out));
    }
    if (line.startsWith('bgapi ')) {
      const cmd = line.slice(6);
      const jobUuid = headerLines.find((h) => h.startsWith('Job-UUID: '))?.slice(10) ?? randomUUID();
      w(reply(`+OK Job-UUID: ${jobUuid}`, { 'Job-UUID': jobUuid }));
      setImmediate(() => {
        const out = this.#api(cmd);
        this.emit('api', cmd, out);
        const [verb = '', ...rest] = cmd.split(' ');
        this.#emit({ name: 'BACKGROUND_JOB', pairs: [['Event-Name', 'BACKGROUND_JOB'], ...this.#envelope('mod_event_socket.c', 'api_exec', '1572'), ['Job-UUID', jobUuid], ['Job-Command', verb], ['Job-Command-Arg', rest.join(' ')]], body: out });
      });
      return;
    }
    const ev = /^event (plain|json) (.*)$/.exec(line);
    if (ev) {
      c.format = ev[1] as 'plain' | 'json';
      let custom = false;
      for (const word of ev[2]!.split(' ').filter(Boolean)) {
        if (word === 'ALL') c.all = true;
        else if (word === 'CUSTOM') custom = true;
        else if (custom) c.subclasses.add(word);
        else c.names.add(word);
      }
      return w(reply(`+OK event listener enabled ${c.format}`));
    }
    if (line === 'noevents') {
      c.format = null;
      c.all = false;
      c.names.clear();
      c.subclasses.clear();
      return w(reply('+OK no longer listening for events'));
    }
    if (line === 'exit') {
      w(reply('+OK bye'));
      c.socket.end(disconnectNotice(GOODBYE));
      return;
    }
    w(reply('-ERR command not found'));
  }

  #api(cmd: string): string {
    const args = cmd.split(' ');
    const verb = args[0] ?? '';
    const ch = args[1] ? this.#channels.get(args[1]) : undefined;
    const noSuch = '-ERR No such channel!\n';
    switch (verb) {
      case 'status':
        return `UP 0 years, 0 days, 0 hours, 0 minutes, 1 second, 0 milliseconds, 0 microseconds\nFreeSWITCH (Version 1.10.12-release  64bit) is ready\n${this.#channels.size} session(s) since startup\n`;
      case 'version':
        return 'FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n';
      case 'module_exists':
        return args[1] === 'mod_audio_fork' || args[1] === 'mod_callcenter' || args[1] === 'mod_hash' ? 'true' : 'false';
      case 'hash':
        return this.#hashApi(args.slice(1).join(' '));
      case 'hash_dump': {
        // mod_hash: `hash_dump db [<realm>]` lists `D/<realm>_<key>/<value>` lines (the realm matched as a substring).
        if (args[1] !== 'db') return 'Usage: all|limit|db [<realm>]\n';
        const realm = args[2] ? `${args[2]}_` : '';
        return [...this.#hash].filter(([k]) => k.includes(realm)).map(([k, v]) => `D/${k}/${v}\n`).join('');
      }
      case 'show':
        if (cmd === 'show channels as json') return this.#showChannels();
        return `\n${this.#channels.size} total.\n`;
      case 'uuid_exists':
        return ch ? 'true' : 'false';
      case 'uuid_getvar':
        if (!ch) return noSuch;
        return ch.variables.get(args[2] ?? '') ?? '_undef_';
      case 'uuid_setvar':
        if (!ch) return noSuch;
        if (args.length > 3) ch.variables.set(args[2]!, args.slice(3).join(' '));
        else ch.variables.delete(args[2] ?? '');
        return '+OK\n';
      case 'uuid_setvar_multi':
        if (!ch) return noSuch;
        for (const pair of args.slice(2).join(' ').split(';')) {
          const eq = pair.indexOf('=');
          if (eq > 0) ch.variables.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        return '+OK\n';
      case 'uuid_kill':
        if (!ch) return noSuch;
        this.#later(0, () => this.hangup(ch.uuid, args[2] ?? 'NORMAL_CLEARING'));
        return '+OK\n';
      case 'uuid_answer':
        return ch ? '+OK\n' : '-ERROR\n';
      case 'uuid_transfer':
        if (!ch) return noSuch;
        return this.#transfer(ch, cmd.slice(verb.length + args[1]!.length + 2));
      case 'uuid_broadcast':
        if (!ch) return '-ERR invalid uuid\n';
        this.#broadcast(ch, args[2] ?? '');
        return '+OK Message sent\n';
      case 'uuid_audio_fork':
        if (args.length === 1) return '-USAGE: <uuid> [start | stop | send_text | pause | resume | graceful-shutdown | stop_play ] [wss-url | path] [mono | mixed | stereo] [8000 | 16000 | 24000 | 32000 | 64000] [bugname] [metadata] [bidirectionalAudio_enabled] [bidirectionalAudio_stream_enabled] [bidirectionalAudio_stream_samplerate]\n';
        if (!ch) return '-ERR Operation Failed\n';
        return this.#fork(ch, args.slice(2));
      case 'callcenter_config':
        return this.#callcenter(args.slice(1));
      case 'hupall':
        for (const uuid of [...this.#channels.keys()]) this.#later(0, () => this.hangup(uuid, args[1] ?? 'MANAGER_REQUEST'));
        return '+OK hupall\n';
      default:
        return `-ERR ${verb} Command not found!\n`;
    }
  }

  /**
   * mod_hash's api as its source has it (not recorded): `<op>/<realm>/<key>[/<value>]`, the key stored as
   * `<realm>_<key>`; insert_ifempty answers `-ERR key already exists` when set. Memory only: gone after a restart.
   */
  #hashApi(cmd: string): string {
    const usage = '-ERR Usage: hash insert|insert_ifempty|select|delete|delete_ifmatch/realm/key[/value]\n';
    const [op, realm, key, value] = cmd.split('/', 4);
    if (!op || realm === undefined || key === undefined) return usage;
    const k = `${realm}_${key}`;
    switch (op) {
      case 'insert':
        if (value === undefined) return usage;
        this.#hash.set(k, value);
        return '+OK\n';
      case 'insert_ifempty':
        if (value === undefined) return usage;
        if (this.#hash.has(k)) return '-ERR key already exists\n';
        this.#hash.set(k, value);
        return '+OK\n';
      case 'select':
        return this.#hash.get(k) ?? '';
      case 'delete':
        return this.#hash.delete(k) ? '+OK\n' : '-ERR Not found\n';
      case 'delete_ifmatch':
        if (value === undefined) return usage;
        if (!this.#hash.has(k)) return '-ERR Not found\n';
        if (this.#hash.get(k) !== value) return "-ERR Doesn't match\n";
        this.#hash.delete(k);
        return '+OK\n';
      default:
        return usage;
    }
  }

  #fork(ch: SimChannel, a: string[]): string {
    const fail = '-ERR Operation Failed\n';
    const [action, ...rest] = a;
    if (action === 'start') {
      const [url, mix, rate, sixth, seventh] = rest;
      if (!url || mix !== 'mono' || (rate !== '8k' && rate !== '8000')) return fail;
      // With 6 arguments the 6th is metadata if it starts with { or [, else a bug name (README).
      const metadata = sixth && /^[{[]/.test(sixth) ? sixth : (seventh ?? null);
      // One bug per name: a dead fork (dropped by the far end, or never connected) still holds it.
      if (ch.forkAttached) return fail;
      ch.forkAttached = true;
      ch.forkUrl = url;
      ch.forkMetadata = metadata;
      const fork = new SimFork({
        url,
        metadata,
        audio: ch.audio,
        onConnect: () => this.#later(7, () => !ch.hungUp && this.#emit(this.#forkEvent(ch, 'connect'))),
        onConnectFailed: () => !ch.hungUp && this.#emit(this.#forkEvent(ch, 'connect_failed', '{"reason":"Unable to connect"}')),
        // The far end went: mod_audio_fork::disconnect, no body; the bug stays until stop or hang-up.
        onDropped: () => !ch.hungUp && this.#emit(this.#forkEvent(ch, 'disconnect')),
        onAudioEnd: () => ch.hangupAfterAudio && this.#later(20, () => this.hangup(ch.uuid)),
      });
      ch.fork = fork;
      return '+OK Success\n';
    }
    if (action === 'stop') {
      if (!ch.forkAttached) return fail;
      ch.forkAttached = false;
      if (ch.fork?.open) {
        if (rest[0]) ch.fork.sendText(rest.slice(rest[0].startsWith('{') ? 0 : 1).join(' '));
        ch.fork.close();
      }
      return '+OK Success\n';
    }
    if (action === 'send_text') {
      // The api splits its arguments on spaces: a text with spaces fails (03). A dead fork's bug
      // takes the text and sends it nowhere (+OK, real FreeSWITCH).
      if (!ch.forkAttached || rest.length !== 1) return fail;
      ch.fork?.sendText(rest[0]!);
      return '+OK Success\n';
    }
    return fail;
  }

  #transfer(ch: SimChannel, target: string): string {
    ch.transfers.push(target);
    const inline = /^'?(.*?)'? inline$/.exec(target);
    let queue: string | null = null;
    let fifo: string | null = null;
    if (inline) {
      for (const step of inline[1]!.split(',')) {
        const colon = step.indexOf(':');
        const app = step.slice(0, colon);
        const arg = step.slice(colon + 1);
        if (app === 'set') {
          const eq = arg.indexOf('=');
          ch.variables.set(arg.slice(0, eq), arg.slice(eq + 1));
        } else if (app === 'callcenter') queue = arg;
      }
    } else {
      const ext = target.split(' ')[0]!;
      queue = (this.#o.queueExtensions ?? ((e: string) => (e.startsWith('queue-') ? e.slice(6) : null)))(ext);
      fifo = (this.#o.fifoExtensions ?? ((e: string) => (e.startsWith('fifo-') ? e.slice(5) : null)))(ext);
    }
    if (ch.fifo) this.#leaveFifo(ch);
    if (ch.application === 'park') {
      this.#emit(this.#channelEvent('CHANNEL_UNPARK', ch, 'CS_EXECUTE', 'ACTIVE'));
      this.#executeComplete(ch, 'park', '', '_none_');
    }
    // A member leaving for a re-queue: the old entry stays as Abandoned (04).
    const now = Math.floor(Date.now() / 1000);
    let systemEpoch = now;
    for (const m of this.#members) {
      if (m.sessionUuid === ch.uuid && m.state === 'Waiting') {
        m.state = 'Abandoned';
        systemEpoch = m.systemEpoch;
      }
    }
    ch.queue = queue;
    if (queue) {
      const memberUuid = randomUUID();
      ch.variables.set('cc_member_uuid', memberUuid);
      ch.variables.set('cc_queue', queue);
      this.#members.push({ queue, memberUuid, sessionUuid: ch.uuid, number: ch.number, name: ch.callerName, baseScore: Number(ch.variables.get('cc_base_score') ?? 0) || 0, systemEpoch, joinedEpoch: now, state: 'Waiting' });
      this.#execute(ch, 'callcenter', queue);
      this.#emit(this.#callcenterEvent(ch, 'member-queue-start', queue, memberUuid));
    } else if (fifo) {
      // `fifo <name> in`: mod_fifo pauses the channel's media bugs first (the fork sends nothing), then pushes it.
      ch.fifo = fifo;
      ch.fifoSince = performance.now();
      ch.fork?.pause();
      this.#execute(ch, 'fifo', `${fifo} in`);
      this.#emit(this.#fifoEvent(ch, 'push', fifo, [['FIFO-Slot', ch.variables.get('fifo_priority') ?? '5']]));
    } else this.#execute(ch, inline ? 'transfer' : 'park', target);
    return '+OK\n';
  }

  /**
   * A consumer (`fifo <name> out`, channel `consumer`) takes the next caller of fifo `name`: the lowest
   * slot (fifo_priority) first, then the longest waiting (04: priority 1 before 3 and 5). Fires
   * caller_pop, consumer_pop and bridge-caller-start as in 04 and resumes the caller's media bugs (the
   * fork streams again). Returns the caller's uuid, or null when nobody waits.
   */
  fifoConsume(name: string, consumer = 'sofia/pbx/2000@127.0.0.1'): string | null {
    const slot = (c: SimChannel) => Number(c.variables.get('fifo_priority') ?? 5);
    const ch = [...this.#channels.values()].filter((c) => c.fifo === name && !c.hungUp).sort((a, b) => slot(a) - slot(b) || a.fifoSince - b.fifoSince)[0];
    if (!ch) return null;
    const consumerUuid = randomUUID();
    this.#emit(this.#fifoEvent(ch, 'caller_pop', name));
    this.#emit({
      name: 'CUSTOM',
      subclass: 'fifo::info',
      pairs: [['Event-Subclass', 'fifo::info'], ['Event-Name', 'CUSTOM'], ...this.#envelope('mod_fifo.c', 'fifo_function', '3135'), ['Channel-Name', consumer], ['Unique-ID', consumerUuid], ['FIFO-Name', name], ['FIFO-Action', 'consumer_pop'], ['FIFO-Caller-UUID', ch.uuid]],
    });
    this.#leaveFifo(ch, 'bridge-caller-start');
    return ch.uuid;
  }

  /**
   * The caller leaves its fifo, its media bugs resumed: taken by a consumer (`bridge-caller-start`) or
   * without one (`abort`: transfer, hang-up).
   */
  #leaveFifo(ch: SimChannel, action: 'bridge-caller-start' | 'abort' = 'abort'): void {
    const name = ch.fifo!;
    ch.fifo = null;
    ch.fork?.resume();
    this.#emit(this.#fifoEvent(ch, action, name));
  }

  /** mod_fifo's `fifo::info` about a caller (04: channel headers, FIFO-Name, FIFO-Action). */
  #fifoEvent(ch: SimChannel, action: string, name: string, extra: Pairs = []): SimEvent {
    return {
      name: 'CUSTOM',
      subclass: 'fifo::info',
      pairs: [['Event-Subclass', 'fifo::info'], ['Event-Name', 'CUSTOM'], ...this.#envelope('mod_fifo.c', 'fifo_function', '2744'), ...this.#channelPairs(ch, 'CS_EXECUTE', 'ACTIVE'), ['FIFO-Name', name], ['FIFO-Action', action], ...extra, ...this.#variables(ch)],
    };
  }

  #callcenter(a: string[]): string {
    if (a[0] === 'queue' && a[1] === 'list' && a[2] === 'members' && a[3]) {
      const header = 'queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score';
      const rows = this.#members
        .filter((m) => m.queue === a[3])
        .map((m) => ({ m, score: m.baseScore }))
        .sort((x, y) => y.score - x.score)
        .map(({ m, score }) =>
          [m.queue, 'single_box', m.memberUuid, m.state === 'Waiting' ? m.sessionUuid : '', m.number, m.name, m.systemEpoch, m.joinedEpoch, 0, 0, m.state === 'Abandoned' ? m.joinedEpoch : 0, m.baseScore, 0, '', '', m.state, score].join('|'),
        );
      return `${[header, ...rows].join('\n')}\n+OK\n`;
    }
    if (a[0] === 'member') return '-ERR no reply\n';
    return '+OK\n';
  }

  #broadcast(ch: SimChannel, file: string): void {
    const playable = this.#o.sounds ?? ((p: string) => p.startsWith(SOUNDS));
    const b = { file, status: 'playing' as SimChannel['broadcasts'][number]['status'] };
    ch.broadcasts.push(b);
    this.#later(0, () => {
      if (ch.hungUp) return;
      this.#execute(ch, 'playback', file);
      if (!playable(file)) {
        b.status = 'not-found';
        this.#executeComplete(ch, 'playback', file, 'FILE NOT FOUND');
        return;
      }
      this.#emit(this.#channelEvent('PLAYBACK_START', ch, 'CS_EXECUTE', 'ACTIVE', [['Playback-File-Path', file]]));
      this.#later(this.#o.playbackMs ?? 200, () => {
        if (ch.hungUp || b.status !== 'playing') return;
        b.status = 'done';
        this.#emit(this.#channelEvent('PLAYBACK_STOP', ch, 'CS_EXECUTE', 'ACTIVE', [['Playback-File-Path', file], ['Playback-Status', 'done']]));
        this.#executeComplete(ch, 'playback', file, 'FILE PLAYED');
      });
    });
  }

  #showChannels(): string {
    if (this.#channels.size === 0) return '{"row_count": 0}\n';
    const rows = [...this.#channels.values()].map((ch) => ({
      uuid: ch.uuid,
      direction: 'inbound',
      created: new Date(ch.created).toISOString().replace('T', ' ').slice(0, 19),
      created_epoch: String(Math.floor(ch.created / 1000)),
      name: ch.name,
      state: 'CS_EXECUTE',
      cid_name: ch.callerName,
      cid_num: ch.number,
      ip_addr: '127.0.0.1',
      dest: ch.destination,
      application: ch.application,
      application_data: ch.applicationData,
      dialplan: 'XML',
      context: 'pbx',
      read_codec: 'PCMU',
      read_rate: '8000',
      write_codec: 'PCMU',
      write_rate: '8000',
      callstate: 'ACTIVE',
      call_uuid: ch.uuid,
    }));
    return `${JSON.stringify({ row_count: rows.length, rows })}\n`;
  }

  #execute(ch: SimChannel, app: string, data: string): void {
    ch.application = app;
    ch.applicationData = data;
    this.#emit(this.#channelEvent('CHANNEL_EXECUTE', ch, 'CS_EXECUTE', 'ACTIVE', [['Application', app], ['Application-Data', data], ['Application-UUID', randomUUID()]]));
  }

  #executeComplete(ch: SimChannel, app: string, data: string, response: string, cause?: string): void {
    this.#emit(
      this.#channelEvent('CHANNEL_EXECUTE_COMPLETE', ch, cause ? 'CS_HANGUP' : 'CS_EXECUTE', cause ? 'HANGUP' : 'ACTIVE', [['Application', app], ['Application-Data', data], ['Application-Response', response], ['Application-UUID', randomUUID()]], cause),
    );
  }

  /** mod_callcenter's `callcenter::info` for a member (04: channel headers, CC-Action, CC-Queue, the member and session uuids). */
  #callcenterEvent(ch: SimChannel, action: string, queue: string, memberUuid: string): SimEvent {
    return {
      name: 'CUSTOM',
      subclass: 'callcenter::info',
      pairs: [
        ['Event-Subclass', 'callcenter::info'],
        ['Event-Name', 'CUSTOM'],
        ...this.#envelope('mod_callcenter.c', 'callcenter_function', '3113'),
        ...this.#channelPairs(ch, 'CS_EXECUTE', 'ACTIVE'),
        ['CC-Queue', queue],
        ['CC-Action', action],
        ['CC-Member-UUID', memberUuid],
        ['CC-Member-Session-UUID', ch.uuid],
        ...this.#variables(ch),
      ],
    };
  }

  #forkEvent(ch: SimChannel, what: string, body?: string): SimEvent {
    const e: SimEvent = {
      name: 'CUSTOM',
      subclass: `mod_audio_fork::${what}`,
      pairs: [['Event-Subclass', `mod_audio_fork::${what}`], ['Event-Name', 'CUSTOM'], ...this.#envelope('mod_audio_fork.c', 'responseHandler', '33'), ...this.#channelPairs(ch, 'CS_EXECUTE', 'ACTIVE'), ...this.#variables(ch)],
    };
    if (body !== undefined) e.body = body;
    return e;
  }

  #envelope(file: string, fn: string, line: string): Pairs {
    const now = Date.now();
    const d = new Date(now);
    return [
      ['Core-UUID', CORE_UUID],
      ['FreeSWITCH-Hostname', 'sim'],
      ['FreeSWITCH-Switchname', 'sim'],
      ['FreeSWITCH-IPv4', '127.0.0.1'],
      ['FreeSWITCH-IPv6', '::1'],
      ['Event-Date-Local', d.toISOString().replace('T', ' ').slice(0, 19)],
      ['Event-Date-GMT', d.toUTCString()],
      ['Event-Date-Timestamp', String(now * 1000)],
      ['Event-Calling-File', file],
      ['Event-Calling-Function', fn],
      ['Event-Calling-Line-Number', line],
      ['Event-Sequence', String(++this.#sequence)],
    ];
  }

  #channelPairs(ch: SimChannel, state: string, callState: string, cause?: string): Pairs {
    const us = String(ch.created * 1000);
    const pairs: Pairs = [
      ['Channel-State', state],
      ['Channel-Call-State', callState],
      ['Channel-State-Number', state === 'CS_EXECUTE' ? '4' : state === 'CS_HANGUP' ? '10' : state === 'CS_REPORTING' ? '11' : state === 'CS_DESTROY' ? '12' : '2'],
      ['Channel-Name', ch.name],
      ['Unique-ID', ch.uuid],
      ['Call-Direction', 'inbound'],
      ['Presence-Call-Direction', 'inbound'],
      ['Channel-HIT-Dialplan', 'true'],
      ['Channel-Call-UUID', ch.uuid],
      ['Answer-State', callState === 'DOWN' ? 'ringing' : callState === 'HANGUP' ? 'hangup' : 'answered'],
    ];
    if (cause) pairs.push(['Hangup-Cause', cause]);
    pairs.push(
      ['Channel-Read-Codec-Name', 'PCMU'],
      ['Channel-Read-Codec-Rate', '8000'],
      ['Channel-Read-Codec-Bit-Rate', '64000'],
      ['Channel-Write-Codec-Name', 'PCMU'],
      ['Channel-Write-Codec-Rate', '8000'],
      ['Channel-Write-Codec-Bit-Rate', '64000'],
      ['Caller-Direction', 'inbound'],
      ['Caller-Logical-Direction', 'inbound'],
      ['Caller-Username', ch.number],
      ['Caller-Dialplan', 'XML'],
      ['Caller-Caller-ID-Name', ch.callerName],
      ['Caller-Caller-ID-Number', ch.number],
      ['Caller-Orig-Caller-ID-Name', ch.callerName],
      ['Caller-Orig-Caller-ID-Number', ch.number],
      ['Caller-Network-Addr', '127.0.0.1'],
      ['Caller-ANI', ch.number],
      ['Caller-Destination-Number', ch.destination],
      ['Caller-Unique-ID', ch.uuid],
      ['Caller-Source', 'mod_sofia'],
      ['Caller-Context', 'pbx'],
      ['Caller-Channel-Name', ch.name],
      ['Caller-Profile-Index', '1'],
      ['Caller-Profile-Created-Time', us],
      ['Caller-Channel-Created-Time', us],
      ['Caller-Channel-Answered-Time', callState === 'DOWN' ? '0' : us],
      ['Caller-Channel-Hangup-Time', cause ? String(Date.now() * 1000) : '0'],
      ['Caller-Screen-Bit', 'true'],
      ['Caller-Privacy-Hide-Name', 'false'],
      ['Caller-Privacy-Hide-Number', 'false'],
    );
    return pairs;
  }

  #variables(ch: SimChannel): Pairs {
    return [...ch.variables].map(([k, v]) => [`variable_${k}`, v]);
  }

  #channelEvent(name: string, ch: SimChannel, state: string, callState: string, extra: Pairs = [], cause?: string, causeFirst = false): SimEvent {
    const envelope = this.#envelope('switch_channel.c', 'switch_channel_perform_' + name.toLowerCase(), '1000');
    const head: Pairs = [['Event-Name', name], ...envelope];
    if (causeFirst && cause) head.push(['Hangup-Cause', cause]);
    return { name, pairs: [...head, ...this.#channelPairs(ch, state, callState, cause), ...extra, ...this.#variables(ch)] };
  }

  #emit(e: SimEvent): void {
    let plain: Buffer | null = null;
    let json: Buffer | null = null;
    for (const c of this.#conns) {
      if (!c.authed || !c.format) continue;
      const wanted = c.all || (e.name === 'CUSTOM' ? c.subclasses.has(e.subclass ?? '') : c.names.has(e.name));
      if (!wanted || !c.socket.writable) continue;
      c.socket.write(c.format === 'json' ? (json ??= eventJson(e)) : (plain ??= eventPlain(e)));
    }
  }
}

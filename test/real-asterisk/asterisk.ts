import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeWav } from '../../src/audio/wav.js';
import { REPO } from '../helpers/paths.js';
import { track } from '../helpers/ser-process.js';

/*
 * A real Asterisk 22 for the tests: the installation named by SER_TEST_ASTERISK (its sbin/asterisk and
 * lib/asterisk/modules), started in the foreground (`asterisk -f -C <conf>`) as the current user, with a
 * throwaway configuration in a temp dir: ARI on a free port of 127.0.0.1, only the modules the tests
 * need, the repo's dialplan/extensions_ser.conf included, and the test callers' contexts.
 */

/** The Asterisk 22 prefix to run, or undefined: the real-Asterisk suite is then skipped. */
export const ASTERISK_PREFIX = process.env.SER_TEST_ASTERISK || undefined;
export const NEEDS = 'needs SER_TEST_ASTERISK=<an installed Asterisk 22 prefix>';

const MODULES = [
  // HTTP, ARI, Stasis
  'res_sorcery_config', 'res_sorcery_memory', 'res_sorcery_astdb', 'res_http_websocket', 'res_websocket_client', 'res_stasis', 'res_stasis_answer', 'res_stasis_playback', 'res_stasis_recording',
  'res_stasis_snoop', 'res_stasis_device_state', 'res_ari', 'res_ari_model', 'res_ari_asterisk', 'res_ari_applications',
  'res_ari_bridges', 'res_ari_channels', 'res_ari_endpoints', 'res_ari_events', 'res_ari_playbacks',
  'res_ari_recordings', 'res_ari_sounds', 'res_ari_device_states', 'app_stasis',
  // media: RTP for externalMedia, timing, bridges, codecs, formats, music on hold
  'res_rtp_asterisk', 'res_rtp_multicast', 'chan_rtp', 'res_timing_timerfd', 'chan_bridge_media', 'bridge_simple', 'bridge_softmix',
  'bridge_holding', 'bridge_native_rtp', 'bridge_builtin_features', 'codec_ulaw', 'codec_resample', 'format_wav',
  'format_pcm', 'format_sln', 'res_musiconhold',
  // dialplan
  'pbx_config', 'app_playback', 'app_mixmonitor', 'app_stack', 'app_exec', 'app_verbose', 'app_queue',
  'func_global', 'func_logic', 'func_strings', 'func_channel', 'func_callerid', 'res_clioriginate',
];


export interface AsteriskOptions {
  /** Asterisk's RTP range (rtp.conf); keep it apart from other instances and from ser-ari's. */
  rtp: [number, number];
}

export class Asterisk {
  readonly dir: string;
  readonly conf: string;
  readonly sounds: string;
  readonly recordings: string;
  readonly httpPort: number;
  readonly url: string;
  readonly user = 'ser';
  readonly password = 'ser';
  child: ChildProcess | null = null;
  /** Console output of every run (start, restarts), for a failing test to show. */
  readonly log: string[] = [];

  private constructor(
    private readonly prefix: string,
    httpPort: number,
    opts: AsteriskOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ser-real-ast-'));
    this.httpPort = httpPort;
    this.url = `http://127.0.0.1:${httpPort}`;
    this.conf = join(this.dir, 'etc', 'asterisk.conf');
    this.sounds = join(this.dir, 'data', 'sounds');
    this.recordings = join(this.dir, 'rec');
    this.#writeConfig(opts);
  }

  static async start(prefix: string, httpPort: number, opts: AsteriskOptions): Promise<Asterisk> {
    const a = new Asterisk(resolve(prefix), httpPort, opts);
    await a.run();
    return a;
  }

  get binary(): string {
    return join(this.prefix, 'sbin', 'asterisk');
  }

  #writeConfig(opts: AsteriskOptions): void {
    const d = (name: string) => {
      const p = join(this.dir, name);
      mkdirSync(p, { recursive: true });
      return p;
    };
    const etc = d('etc');
    for (const x of ['run', 'log', 'spool', 'lib', 'db', 'keys', 'cache', 'data/sounds/ser-test', 'data/moh', 'rec']) d(x);
    const modules = join(this.prefix, 'lib', 'asterisk', 'modules');
    const w = (name: string, text: string) => writeFileSync(join(etc, name), text);
    w(
      'asterisk.conf',
      `[directories]
astetcdir => ${etc}
astmoddir => ${modules}
astvarlibdir => ${this.dir}/lib
astdbdir => ${this.dir}/db
astkeydir => ${this.dir}/keys
astdatadir => ${this.dir}/data
astagidir => ${this.dir}/lib/agi-bin
astspooldir => ${this.dir}/spool
astrundir => ${this.dir}/run
astlogdir => ${this.dir}/log
astsbindir => ${this.prefix}/sbin
astcachedir => ${this.dir}/cache
[options]
nofork = yes
; A channel waiting in the dialplan (Wait) sends silence, as on a production PBX: a whisper (ser-ari's
; warning to a caller outside Stasis) is mixed into the frames the channel sends and is lost without them.
transmit_silence = yes
`,
    );
    w('modules.conf', `[modules]\nautoload = no\n${MODULES.map((m) => `load = ${m}.so`).join('\n')}\n`);
    w('logger.conf', '[general]\ndateformat = %F %T.%3q\n[logfiles]\nconsole => notice,warning,error,verbose(3)\nmessages.log => notice,warning,error,verbose(3)\n');
    w('http.conf', `[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = ${this.httpPort}\n`);
    w('ari.conf', `[general]\nenabled = yes\n[${this.user}]\ntype = user\nread_only = no\npassword = ${this.password}\npassword_format = plain\n`);
    w('rtp.conf', `[general]\nrtpstart = ${opts.rtp[0]}\nrtpend = ${opts.rtp[1]}\n`);
    w('musiconhold.conf', `[general]\n[default]\nmode = files\ndirectory = ${this.dir}/data/moh\n`);
    w('queues.conf', '[general]\n');
    // Asterisk's data dir is ours (sounds, hold music), but the core's XML documentation (without it Stasis
    // refuses to start) and ARI's rest-api descriptions come from the installation.
    const shipped = ['var/lib/asterisk', 'share/asterisk'].map((p) => join(this.prefix, p)).find((p) => existsSync(join(p, 'documentation')));
    if (!shipped) throw new Error(`no documentation folder under ${this.prefix}/var/lib/asterisk or share/asterisk`);
    for (const x of ['documentation', 'rest-api']) if (existsSync(join(shipped, x))) symlinkSync(join(shipped, x), join(this.dir, 'data', x));
    copyFileSync(join(REPO, 'dialplan', 'extensions_ser.conf'), join(etc, 'extensions_ser.conf'));
    // A 440 Hz tone as hold music: easy to tell from silence and from speech in a recording.
    const tone = Float32Array.from({ length: 8000 * 30 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    writeFileSync(join(this.dir, 'data/moh/tone.wav'), encodeWav([tone], 8000, 'pcm16'));
    copyFileSync(join(REPO, 'dialplan', 'sounds', 'ser-abuse-warning.wav'), join(this.sounds, 'ser-abuse-warning.wav'));
    w(
      'extensions.conf',
      `[general]
static = yes
writeprotect = no
[globals]
#include extensions_ser.conf

; The caller's phone (the ;2 half of Local/<key>@ser-test-phone): records what it hears, says its lines.
[ser-test-phone]
exten => _[a-z].,1,Answer()
 same => n,MixMonitor(${this.recordings}/\${EXTEN}-mix.wav,r(${this.recordings}/\${EXTEN}-heard.wav))
 same => n(say),Playback(ser-test/\${EXTEN})
 same => n,Goto(say)

; The PBX side of a test caller (the ;1 half, channel variable KEY): the modes of README "Connecting to Asterisk".
[ser-test]
exten => monitor,1,Answer()
 same => n,Gosub(ser-monitor,s,1)
 same => n(wait),Wait(0.2)
 same => n,GotoIf($["\${GLOBAL(GO_\${KEY})}" = ""]?wait)
 same => n,Gosub(ser-decide,s,1)
 same => n,Set(GLOBAL(DECIDED_\${KEY})=\${SER_ESCALATE},\${SER_EMOTION},\${SER_NEGATIVITY},\${QUEUE_PRIO})
 same => n,Wait(600)
exten => queue,1,Answer()
 same => n,Gosub(ser-queue,s,1(support))
 same => n,Set(GLOBAL(QUEUED_\${KEY})=\${IF($["\${SER_QUEUE_DONE}" = "1"]?ser:app_queue)},\${SER_QUEUESTATUS})
 same => n,Wait(600)

; The agent ser-ari's built-in queue rings (Local/agent@ser-test-agent): rings until GLOBAL(AGENT_UP) is 1,
; then answers and listens.
[ser-test-agent]
exten => agent,1,NoOp(agent rung)
 same => n(ring),GotoIf($["\${GLOBAL(AGENT_UP)}" = "1"]?up)
 same => n,Wait(0.2)
 same => n,Goto(ring)
 same => n(up),Answer()
 same => n,Wait(600)
`,
    );
  }

  /** Starts Asterisk (again) and waits until ARI answers. */
  async run(): Promise<void> {
    if (!existsSync(this.binary)) throw new Error(`no ${this.binary}: SER_TEST_ASTERISK must name an Asterisk 22 prefix`);
    const child = track(spawn(this.binary, ['-f', '-C', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    child.stdout!.on('data', (b: Buffer) => this.log.push(String(b)));
    child.stderr!.on('data', (b: Buffer) => this.log.push(String(b)));
    await this.waitReady(child).catch((err: Error) => {
      child.kill('SIGKILL');
      throw err;
    });
  }

  async waitReady(child = this.child): Promise<void> {
    const end = Date.now() + 30_000;
    for (;;) {
      if (child && child.exitCode !== null) throw new Error(`asterisk exited ${child.exitCode}:\n${this.log.join('').slice(-3000)}`);
      const ok = await this.ari('GET', '/asterisk/info').then((r) => r.status === 200, () => false);
      if (ok) {
        // ARI answers before the dialplan and MOH are loaded at the end of start-up: wait for "fully booted".
        if ((await this.cli('core waitfullybooted')).status === 0) return;
      }
      if (Date.now() > end) throw new Error(`ARI did not answer on ${this.url} within 30 s:\n${this.log.join('').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One CLI command through the remote console (`asterisk -C <conf> -rx`). */
  async cli(command: string): Promise<{ status: number | null; out: string }> {
    return new Promise((res) => {
      const c = spawn(this.binary, ['-C', this.conf, '-rx', command], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout!.on('data', (b: Buffer) => (out += String(b)));
      c.stderr!.on('data', (b: Buffer) => (out += String(b)));
      c.on('exit', (status) => res({ status, out }));
    });
  }

  /** One ARI REST request; the parsed JSON body (or text, or null). */
  async ari(method: string, path: string, query: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: any }> {
    const qs = new URLSearchParams(query).toString();
    const res = await fetch(`${this.url}/ari${path}${qs ? `?${qs}` : ''}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let parsed: unknown = text || null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* text */
    }
    return { status: res.status, body: parsed };
  }

  /** Stops Asterisk: `core stop now`, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    await this.cli('core stop now');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  /** kill -9, as a crash does. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeWav } from '../../src/audio/wav.js';
import { EslClient } from '../../src/freeswitch/esl-client.js';
import { REPO } from '../helpers/paths.js';
import { track } from '../helpers/ser-process.js';

/*
 * A real FreeSWITCH 1.10 for the tests: the installation named by SER_TEST_FREESWITCH (its
 * bin/freeswitch and its modules, mod_audio_fork among them), started in the foreground
 * (`freeswitch -nf -nc -nonat -conf ... -log ... -db ...`) as the current user, with a throwaway
 * configuration in a temp dir laid out as shared/freeswitch/conf: the event socket on a free port of
 * 127.0.0.1, a `pbx` SIP profile (context pbx: the repo's dialplan/freeswitch/ser-ari.xml plus the
 * test extensions below) and a `carrier` profile whose outbound legs are the simulated callers.
 */

/** The FreeSWITCH prefix to run, or undefined: the real-FreeSWITCH suite is then skipped. */
export const FREESWITCH_PREFIX = process.env.SER_TEST_FREESWITCH || undefined;
export const NEEDS = 'needs SER_TEST_FREESWITCH=<an installed FreeSWITCH 1.10 prefix with mod_audio_fork>';

export const ESL_PASSWORD = 'ClueCon';

const MODULES = [
  'mod_console', 'mod_logfile', 'mod_sofia', 'mod_loopback', 'mod_commands', 'mod_dptools', 'mod_hash', 'mod_fifo', 'mod_callcenter',
  'mod_dialplan_xml', 'mod_sndfile', 'mod_native_file', 'mod_tone_stream', 'mod_local_stream', 'mod_audio_fork',
  // last: when the event socket accepts a login, every other module is loaded
  'mod_event_socket',
];


export interface FreeSwitchOptions {
  /** RTP range (switch.conf); keep it apart from other instances. */
  rtp: [number, number];
  eslPort: number;
  pbxSipPort: number;
  carrierSipPort: number;
}

export class FreeSwitch {
  readonly dir: string;
  readonly conf: string;
  /** Sounds of ser-ari's prompts (freeswitch.soundsDir): ser-abuse-warning.wav. */
  readonly serSounds: string;
  /** The test callers' voices: <key>.wav. */
  readonly voices: string;
  /** What each caller heard (record_session, read direction only): <key>-heard.wav. */
  readonly recordings: string;
  child: ChildProcess | null = null;
  /** Console output of every run, for a failing test to show. */
  readonly log: string[] = [];
  /** An event-socket client of the test itself (api, and the events it subscribed to). */
  esl: EslClient | null = null;

  private constructor(
    private readonly prefix: string,
    readonly opts: FreeSwitchOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ser-real-fs-'));
    this.conf = join(this.dir, 'conf');
    this.serSounds = join(this.dir, 'sounds', 'ser');
    this.voices = join(this.dir, 'sounds', 'ser-test');
    this.recordings = join(this.dir, 'rec');
    this.#writeConfig();
  }

  static async start(prefix: string, opts: FreeSwitchOptions): Promise<FreeSwitch> {
    const f = new FreeSwitch(resolve(prefix), opts);
    await f.run();
    return f;
  }

  get eslPort(): number {
    return this.opts.eslPort;
  }

  get binary(): string {
    return join(this.prefix, 'bin', 'freeswitch');
  }

  #writeConfig(): void {
    const d = (name: string) => {
      const p = join(this.dir, name);
      mkdirSync(p, { recursive: true });
      return p;
    };
    for (const x of ['conf/autoload_configs', 'conf/sip_profiles', 'conf/dialplan/pbx', 'log', 'db', 'run', 'temp', 'storage', 'cache', 'rec', 'sounds/ser', 'sounds/ser-test', 'sounds/music/8000']) d(x);
    const w = (name: string, text: string) => writeFileSync(join(this.conf, name), text);
    const o = this.opts;
    w(
      'freeswitch.xml',
      `<?xml version="1.0"?>
<document type="freeswitch/xml">
  <X-PRE-PROCESS cmd="set" data="domain=127.0.0.1"/>
  <X-PRE-PROCESS cmd="set" data="bind_ip=127.0.0.1"/>
  <X-PRE-PROCESS cmd="set" data="global_codec_prefs=PCMU,PCMA"/>
  <X-PRE-PROCESS cmd="set" data="outbound_codec_prefs=PCMU,PCMA"/>
  <X-PRE-PROCESS cmd="set" data="hold_music=local_stream://moh"/>
  <X-PRE-PROCESS cmd="set" data="test_voices=${this.voices}"/>
  <X-PRE-PROCESS cmd="set" data="test_rec=${this.recordings}"/>
  <section name="configuration" description="Various Configuration">
    <X-PRE-PROCESS cmd="include" data="autoload_configs/*.xml"/>
  </section>
  <section name="dialplan" description="Regex/XML Dialplan">
    <X-PRE-PROCESS cmd="include" data="dialplan/*.xml"/>
  </section>
</document>
`,
    );
    w('autoload_configs/modules.conf.xml', `<configuration name="modules.conf" description="Modules">\n  <modules>\n${MODULES.map((m) => `    <load module="${m}"/>`).join('\n')}\n  </modules>\n</configuration>\n`);
    w(
      'autoload_configs/switch.conf.xml',
      `<configuration name="switch.conf" description="Core Configuration">
  <settings>
    <param name="colorize-console" value="false"/>
    <param name="max-sessions" value="200"/>
    <param name="sessions-per-second" value="50"/>
    <param name="loglevel" value="debug"/>
    <param name="rtp-start-port" value="${o.rtp[0]}"/>
    <param name="rtp-end-port" value="${o.rtp[1]}"/>
    <param name="dump-cores" value="no"/>
  </settings>
</configuration>
`,
    );
    w(
      'autoload_configs/console.conf.xml',
      `<configuration name="console.conf" description="Console Logger">
  <mappings><map name="all" value="console,debug,info,notice,warning,err,crit,alert"/></mappings>
  <settings><param name="colorize" value="false"/><param name="loglevel" value="warning"/></settings>
</configuration>
`,
    );
    w(
      'autoload_configs/logfile.conf.xml',
      `<configuration name="logfile.conf" description="File Logging">
  <settings><param name="rotate-on-hup" value="true"/></settings>
  <profiles><profile name="default">
    <settings><param name="rollover" value="0"/></settings>
    <mappings><map name="all" value="debug,info,notice,warning,err,crit,alert"/></mappings>
  </profile></profiles>
</configuration>
`,
    );
    // dialplan/freeswitch/event_socket.conf.xml, on a free port
    const esl = readFileSync(join(REPO, 'dialplan', 'freeswitch', 'event_socket.conf.xml'), 'utf8').replace(/name="listen-port" value="\d+"/, `name="listen-port" value="${o.eslPort}"`);
    if (!esl.includes(`value="${o.eslPort}"`)) throw new Error('dialplan/freeswitch/event_socket.conf.xml: no listen-port to set');
    w('autoload_configs/event_socket.conf.xml', esl);
    w(
      'autoload_configs/sofia.conf.xml',
      `<configuration name="sofia.conf" description="sofia Endpoint">
  <global_settings><param name="log-level" value="0"/></global_settings>
  <profiles>
${['pbx', 'carrier']
  .map(
    (name) => `    <profile name="${name}">
      <settings>
        <param name="auth-calls" value="false"/>
        <param name="dialplan" value="XML"/>
        <param name="context" value="${name}"/>
        <param name="codec-prefs" value="$\${global_codec_prefs}"/>
        <param name="inbound-codec-negotiation" value="generous"/>
        <param name="rtp-ip" value="$\${bind_ip}"/>
        <param name="sip-ip" value="$\${bind_ip}"/>
        <param name="ext-rtp-ip" value="$\${bind_ip}"/>
        <param name="ext-sip-ip" value="$\${bind_ip}"/>
        <param name="sip-port" value="${name === 'pbx' ? o.pbxSipPort : o.carrierSipPort}"/>
        <param name="rtp-timer-name" value="soft"/>
        <param name="dtmf-type" value="rfc2833"/>
        <param name="manage-presence" value="false"/>
      </settings>
    </profile>`,
  )
  .join('\n')}
  </profiles>
</configuration>
`,
    );
    w(
      'autoload_configs/callcenter.conf.xml',
      `<configuration name="callcenter.conf" description="CallCenter">
  <settings/>
  <queues>
    <queue name="support">
      <param name="strategy" value="longest-idle-agent"/>
      <param name="moh-sound" value="$\${hold_music}"/>
      <param name="time-base-score" value="queue"/>
      <param name="discard-abandoned-after" value="60"/>
    </queue>
  </queues>
</configuration>
`,
    );
    w('autoload_configs/fifo.conf.xml', '<configuration name="fifo.conf" description="FIFO Configuration">\n  <fifos><fifo name="support" importance="0"/></fifos>\n</configuration>\n');
    w(
      'autoload_configs/local_stream.conf.xml',
      `<configuration name="local_stream.conf" description="stream files from local dir">
  <directory name="moh" path="${join(this.dir, 'sounds', 'music', '8000')}">
    <param name="rate" value="8000"/><param name="channels" value="1"/><param name="interval" value="20"/><param name="timer-name" value="soft"/>
  </directory>
</configuration>
`,
    );
    // Hold music: a 440 Hz tone, easy to tell from silence and speech.
    const tone = Float32Array.from({ length: 8000 * 10 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8000));
    writeFileSync(join(this.dir, 'sounds', 'music', '8000', 'tone.wav'), encodeWav([tone], 8000, 'pcm16'));
    copyFileSync(join(REPO, 'dialplan', 'sounds', 'ser-abuse-warning.wav'), join(this.serSounds, 'ser-abuse-warning.wav'));

    // pbx: the repo's sample, and the test callers' extensions around it.
    copyFileSync(join(REPO, 'dialplan', 'freeswitch', 'ser-ari.xml'), join(this.conf, 'dialplan', 'pbx', 'ser-ari.xml'));
    w(
      'dialplan/pbx.xml',
      `<include>
  <context name="pbx">
    <!-- a test caller test-<key>: its uuid in hash ser_test/leg_<key>, the sample's monitor hook, then it waits (park) -->
    <extension name="ser-test-monitor">
      <condition field="destination_number" expression="^test-([a-z0-9]+)$">
        <action application="set" data="ser_test_key=$1"/>
        <action application="hash" data="insert/ser_test/leg_$1/\${uuid}"/>
        <action application="answer"/>
        <action application="event" data="Event-Subclass=ser::monitor,Event-Name=CUSTOM,ser_mode=monitor"/>
        <action application="park"/>
      </condition>
    </extension>
    <!-- a caller plain-<key> that ser-ari never hears of (no hook): for probing FreeSWITCH itself -->
    <extension name="ser-test-plain">
      <condition field="destination_number" expression="^plain-([a-z0-9]+)$">
        <action application="hash" data="insert/ser_test/leg_$1/\${uuid}"/>
        <action application="answer"/>
        <action application="park"/>
      </condition>
    </extension>
    <!-- uuid_transfer <u> decide-<key> XML pbx: the sample's decision point, then what the dialplan read, in hash ser_test/decided_<key> -->
    <extension name="ser-test-decide">
      <condition field="destination_number" expression="^decide-([a-z0-9]+)$">
        <action application="execute_extension" data="ser-decide XML pbx"/>
        <action application="hash" data="insert/ser_test/decided_$1/normal,\${SER_ESCALATE},\${SER_EMOTION},\${SER_NEGATIVITY},\${QUEUE_PRIO},\${cc_base_score}"/>
        <action application="park"/>
      </condition>
    </extension>
    <!-- an agent taking the next caller out of mod_fifo "support" (the consumer) -->
    <extension name="fifo-agent">
      <condition field="destination_number" expression="^fifo-agent$">
        <action application="answer"/>
        <action application="fifo" data="support out nowait"/>
      </condition>
    </extension>
    <!-- where the sample's ser-decide sends an escalated caller -->
    <extension name="agent-priority">
      <condition field="destination_number" expression="^agent-priority$">
        <action application="hash" data="insert/ser_test/decided_\${ser_test_key}/escalated,\${SER_ESCALATE},\${SER_EMOTION},\${SER_NEGATIVITY},\${QUEUE_PRIO},\${cc_base_score}"/>
        <action application="park"/>
      </condition>
    </extension>
    <X-PRE-PROCESS cmd="include" data="pbx/*.xml"/>
  </context>
</include>
`,
    );
    // carrier: the caller's phone, the A leg of the originate. It records what it hears (the read
    // direction only) and says its lines over and over.
    w(
      'dialplan/carrier.xml',
      `<include>
  <context name="carrier">
    <extension name="caller">
      <condition field="destination_number" expression="^caller-([a-z0-9]+)$">
        <action application="set" data="RECORD_READ_ONLY=true"/>
        <action application="record_session" data="$\${test_rec}/$1-heard.wav"/>
        <action application="endless_playback" data="$\${test_voices}/$1.wav"/>
      </condition>
    </extension>
  </context>
</include>
`,
    );
  }

  /** Starts FreeSWITCH (again) and waits until its event socket accepts our login and both SIP profiles run. */
  async run(): Promise<void> {
    if (!existsSync(this.binary)) throw new Error(`no ${this.binary}: SER_TEST_FREESWITCH must name a FreeSWITCH prefix`);
    // A source install keeps its modules in <prefix>/mod, a packaged one in <prefix>/lib/freeswitch/mod.
    const mod = ['mod', 'lib/freeswitch/mod'].map((m) => join(this.prefix, m)).find((m) => existsSync(join(m, 'mod_event_socket.so')));
    if (!mod) throw new Error(`no mod_event_socket.so in ${this.prefix}/mod or ${this.prefix}/lib/freeswitch/mod`);
    if (!existsSync(join(mod, 'mod_audio_fork.so'))) throw new Error(`no ${mod}/mod_audio_fork.so: the suite needs mod_audio_fork`);
    const dir = (x: string) => join(this.dir, x);
    const args = ['-nf', '-nc', '-nonat', '-conf', this.conf, '-log', dir('log'), '-db', dir('db'), '-run', dir('run'), '-temp', dir('temp'), '-storage', dir('storage'),
      '-cache', dir('cache'), '-recordings', dir('rec'), '-sounds', dir('sounds'), '-mod', mod];
    const child = track(spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    child.stdout!.on('data', (b: Buffer) => this.log.push(String(b)));
    child.stderr!.on('data', (b: Buffer) => this.log.push(String(b)));
    await this.#waitReady(child).catch((err: Error) => {
      child.kill('SIGKILL');
      throw err;
    });
  }

  async #waitReady(child: ChildProcess): Promise<void> {
    const end = Date.now() + 60_000;
    const failed = (what: string) => new Error(`${what}:\n${this.log.join('').slice(-3000)}\n${this.logFile().slice(-3000)}`);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw failed(`freeswitch exited ${child.exitCode ?? child.signalCode}`);
      if (await eslAccepts(this.eslPort, ESL_PASSWORD)) break;
      if (Date.now() > end) throw failed(`the event socket on 127.0.0.1:${this.eslPort} did not accept a login within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const esl = new EslClient({
      host: '127.0.0.1',
      port: this.eslPort,
      password: ESL_PASSWORD,
      subscribe: { events: ['CHANNEL_ANSWER', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'PLAYBACK_START', 'PLAYBACK_STOP', 'CHANNEL_EXECUTE_COMPLETE'], custom: ['mod_audio_fork::connect', 'mod_audio_fork::connect_failed', 'mod_audio_fork::disconnect', 'callcenter::info'] },
      backoff: { initialMs: 100, maxMs: 500 },
    });
    this.esl = esl;
    await esl.start();
    for (;;) {
      const s = await esl.api('sofia status');
      if (/\bpbx\s+profile\s+\S+\s+RUNNING/.test(s) && /\bcarrier\s+profile\s+\S+\s+RUNNING/.test(s)) return;
      if (Date.now() > end) throw failed(`the SIP profiles did not run within 60 s: ${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** FreeSWITCH's own log file (debug level). */
  logFile(): string {
    const f = join(this.dir, 'log', 'freeswitch.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  async api(command: string): Promise<string> {
    if (!this.esl) throw new Error('FreeSWITCH not running');
    return this.esl.api(command);
  }

  /** Stops FreeSWITCH and removes its temp dir (config, logs, recordings). */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** kill -9, as a crash does. */
  async kill9(): Promise<void> {
    const child = this.child;
    const esl = this.esl;
    this.esl = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
    await esl?.close();
  }

  /** Stops FreeSWITCH: `fsctl shutdown`, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    const esl = this.esl;
    this.esl = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await esl?.close();
      return;
    }
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    await esl?.api('fsctl shutdown').catch(() => undefined);
    await esl?.close();
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(t);
  }
}

/** True when an event socket on 127.0.0.1:port answers `auth <password>` with +OK accepted. */
export function eslAccepts(port: number, password: string, ms = 2000): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let sent = false;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      res(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('error', () => done(false));
    s.on('close', () => done(false));
    s.on('data', (b: Buffer) => {
      buf += String(b);
      if (!sent && buf.includes('Content-Type: auth/request')) {
        sent = true;
        buf = '';
        s.write(`auth ${password}\n\n`);
      } else if (sent && buf.includes('\n\n')) {
        done(/Reply-Text: \+OK accepted/.test(buf));
      }
    });
  });
}

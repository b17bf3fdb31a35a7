import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { encodeWav } from '../../src/audio/wav.js';
import { testActorSpeech } from '../helpers/paths.js';
import { freePort } from '../helpers/net.js';
import { loadWav, readPcm, rms } from '../helpers/pcm.js';
import { SerProcess, until, type SerEvent } from '../helpers/ser-process.js';
import { ESL_PASSWORD, type FreeSwitch } from './freeswitch.js';

/*
 * ser-ari as a child process (`node --import tsx src/cli/main.ts run`) against the real FreeSWITCH,
 * test callers (a carrier-profile leg that plays CREMA-D speech over SIP/RTP to the pbx profile and
 * records what it hears), and checks of what is left on FreeSWITCH. Every wait is on a real condition
 * with a deadline.
 */

export { freePort };

export { loadWav, readPcm, rms, until, type SerEvent };

export interface SerAriOptions {
  /** ser-ari connects to this port (default: FreeSWITCH's event socket; a proxy's for drop tests). */
  eslPort?: number;
  /** Where ser-ari's fork listener binds (default any free port) and the URL FreeSWITCH is told (a proxy's). */
  forkPort?: number;
  forkUrl?: string;
  instance?: string;
  rules?: string;
  extraYaml?: string;
}

/** ser-ari run as a process against the real FreeSWITCH. */
export class SerAri extends SerProcess {
  static async start(fs: FreeSwitch, opts: SerAriOptions = {}): Promise<SerAri> {
    return SerProcess.launch((child, httpPort) => new SerAri(child, httpPort, 'real-freeswitch-test'), {
      dir: fs.dir,
      config: [
        'freeswitch:',
        `  soundsDir: ${fs.serSounds}`,
        '  context: pbx',
        `  instance: ${opts.instance ?? 'real-fs-test'}`,
        '  reconnectMinMs: 200',
        '  reconnectMaxMs: 1000',
      ],
      ...(opts.rules ? { rules: opts.rules } : {}),
      ...(opts.extraYaml ? { extraYaml: opts.extraYaml } : {}),
      env: {
        SER_ESL_HOST: '127.0.0.1',
        SER_ESL_PORT: String(opts.eslPort ?? fs.eslPort),
        SER_ESL_PASSWORD: ESL_PASSWORD,
        SER_FORK_PORT: String(opts.forkPort ?? 0),
        ...(opts.forkUrl ? { SER_FORK_URL: opts.forkUrl } : {}),
      },
      by: 'real-freeswitch-test',
      ready: async (s) => s.logged(/ser-ari is running/) > 0 && (await s.pbxConnected()),
      what: 'ser-ari running and connected to FreeSWITCH',
    });
  }
}

/** Writes caller `key`'s speech, `count` CREMA-D test actors saying `emotion`. */
export function writeVoice(fs: FreeSwitch, key: string, emotion: string, count: number, first = 0, level: 'XX' | 'HI' = 'XX'): void {
  writeFileSync(join(fs.voices, `${key}.wav`), encodeWav([testActorSpeech(emotion, count, first, level)], 8000, 'pcm16'));
}

export interface TestCall {
  key: string;
  /** The caller's leg (carrier profile, outbound). */
  callerUuid: string;
  /** The pbx leg: the channel that ran the monitor hook; ser-ari's callId. */
  callId: string;
}

/**
 * A test caller: a carrier-profile leg calls test-<key> on the pbx profile (extension ser-test-monitor:
 * answer, the ser::monitor hook, park; plain-<key>: no hook); once answered it runs caller-<key> in context carrier: it
 * records what it hears and plays its voice over and over. Resolves with both legs' uuids.
 */
export async function placeCall(fs: FreeSwitch, key: string, dest: 'test' | 'plain' = 'test'): Promise<TestCall> {
  const callerUuid = randomUUID();
  await fs.api(`hash delete/ser_test/leg_${key}`).catch(() => undefined);
  await fs.api(`hash delete/ser_test/decided_${key}`).catch(() => undefined);
  const reply = await fs.api(
    `originate {origination_uuid=${callerUuid},origination_caller_id_number=${key},origination_caller_id_name=${key},ignore_early_media=true}sofia/carrier/${dest}-${key}@127.0.0.1:${fs.opts.pbxSipPort} caller-${key} XML carrier`,
  );
  if (!reply.startsWith('+OK')) throw new Error(`originate ${key}: ${reply.trim()}\n${fs.logFile().slice(-3000)}`);
  const callId = await until(async () => {
    const v = (await fs.api(`hash select/ser_test/leg_${key}`)).trim();
    return v && !v.startsWith('-ERR') ? v : null;
  }, 5000, `pbx leg of ${key}`);
  return { key, callerUuid, callId };
}

/**
 * A test caller that dials `destination` on the pbx profile as it is (e.g. the sample's `support`);
 * resolves with the caller leg's uuid and, once FreeSWITCH has it, the pbx leg's (found by its caller id).
 */
export async function dial(fs: FreeSwitch, key: string, destination: string): Promise<TestCall> {
  const callerUuid = randomUUID();
  const reply = await fs.api(
    `originate {origination_uuid=${callerUuid},origination_caller_id_number=${key},origination_caller_id_name=${key},ignore_early_media=true}sofia/carrier/${destination}@127.0.0.1:${fs.opts.pbxSipPort} caller-${key} XML carrier`,
  );
  if (!reply.startsWith('+OK')) throw new Error(`originate ${key}: ${reply.trim()}`);
  const callId = await until(async () => (await channels(fs)).find((c) => c.name.startsWith('sofia/pbx/') && c.cid_num === key)?.uuid, 5000, `pbx leg of ${key}`);
  return { key, callerUuid, callId };
}

export async function getvar(fs: FreeSwitch, uuid: string, name: string): Promise<string> {
  return (await fs.api(`uuid_getvar ${uuid} ${name}`)).trim();
}

export async function exists(fs: FreeSwitch, uuid: string): Promise<boolean> {
  return (await fs.api(`uuid_exists ${uuid}`)).trim() === 'true';
}

export interface FsChannelRow {
  uuid: string;
  name: string;
  cid_num: string;
  dest: string;
  application: string;
}

export async function channels(fs: FreeSwitch): Promise<FsChannelRow[]> {
  const body = await fs.api('show channels as json');
  return ((JSON.parse(body) as { rows?: FsChannelRow[] }).rows ?? []);
}

/** mod_hash entries of realm ser_claim: `callId -> instance`. */
export async function claims(fs: FreeSwitch): Promise<Map<string, string>> {
  const dump = await fs.api('hash_dump db ser_claim');
  const out = new Map<string, string>();
  for (const line of dump.split('\n')) {
    const m = /^D\/ser_claim_([^/]+)\/(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The media bugs on a channel (uuid_buglist): mod_audio_fork's is named audio_fork. */
export async function bugs(fs: FreeSwitch, uuid: string): Promise<string> {
  return fs.api(`uuid_buglist ${uuid}`);
}

/** Hangs up every channel and waits until none is left. */
export async function hangupAll(fs: FreeSwitch): Promise<void> {
  await fs.api('hupall NORMAL_CLEARING');
  await until(async () => (await channels(fs)).length === 0, 10_000, 'no channels left');
}

export function heard(fs: FreeSwitch, key: string): Float32Array {
  return readPcm(join(fs.recordings, `${key}-heard.wav`));
}




export { findAudio } from '../real-asterisk/harness.js';

/**
 * A TCP proxy in front of FreeSWITCH's event socket: `drop()` destroys every connection through it
 * (as a network failure does: no `exit`, no FIN from FreeSWITCH), and new ones are let through again.
 */
export class TcpProxy {
  readonly #pairs = new Set<[Socket, Socket]>();
  #server: Server | null = null;
  port = 0;
  /** While true, new connections are closed at once (FreeSWITCH unreachable). */
  blocked = false;

  static async start(target: number): Promise<TcpProxy> {
    const p = new TcpProxy();
    const server = createServer((client) => {
      if (p.blocked) {
        client.destroy();
        return;
      }
      const up = connect(target, '127.0.0.1');
      const pair: [Socket, Socket] = [client, up];
      p.#pairs.add(pair);
      const end = () => {
        p.#pairs.delete(pair);
        client.destroy();
        up.destroy();
      };
      client.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
      client.pipe(up);
      up.pipe(client);
    });
    p.#server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    p.port = (server.address() as { port: number }).port;
    return p;
  }

  /** Connections through the proxy now. */
  get connections(): number {
    return this.#pairs.size;
  }

  drop(): void {
    for (const [a, b] of [...this.#pairs]) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise((r) => this.#server?.close(r));
  }
}

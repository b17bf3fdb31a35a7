import { writeFileSync } from 'node:fs';
import { freePort } from '../helpers/net.js';
import { join } from 'node:path';
import { encodeWav } from '../../src/audio/wav.js';
import { testActorSpeech } from '../helpers/paths.js';
import { loadWav, readPcm, rms } from '../helpers/pcm.js';
import { SerProcess, until, type SerEvent } from '../helpers/ser-process.js';
import type { Asterisk } from './asterisk.js';

/*
 * ser-ari as a child process (`node --import tsx src/cli/main.ts run`) against the real Asterisk, test
 * callers (Local channels whose far half plays CREMA-D speech and records what it hears), and checks of
 * what is left on Asterisk. Every wait is on a real condition with a deadline.
 */

export { freePort };

export { loadWav, readPcm, rms, until, type SerEvent };

export interface SerAriOptions {
  rtpPorts: string;
  queueAgents?: string[];
  rules?: string;
  extraYaml?: string;
}

/** ser-ari run as a process against the real Asterisk. */
export class SerAri extends SerProcess {
  static async start(ast: Asterisk, dir: string, opts: SerAriOptions): Promise<SerAri> {
    const config = ['ari:', '  reconnectMinMs: 200', '  reconnectMaxMs: 1000'];
    if (opts.queueAgents) {
      config.push('queues:', '  - name: support', `    agents: [${opts.queueAgents.join(', ')}]`, '    ringTimeoutSeconds: 10', '    retrySeconds: 2', '    moh: default');
    }
    return SerProcess.launch((child, httpPort) => new SerAri(child, httpPort, 'real-asterisk-test'), {
      dir,
      config,
      ...(opts.rules ? { rules: opts.rules } : {}),
      ...(opts.extraYaml ? { extraYaml: opts.extraYaml } : {}),
      env: { SER_ARI_URL: ast.url, SER_ARI_USER: ast.user, SER_ARI_PASSWORD: ast.password, SER_ARI_APP: 'ser', SER_RTP_PORTS: opts.rtpPorts },
      by: 'real-asterisk-test',
      ready: (s) => s.logged(/ARI websocket connected/) > 0 && s.logged(/ser-ari is running/) > 0,
      what: 'ser-ari running and connected to Asterisk',
    });
  }
}

/** Writes the caller's speech, `count` CREMA-D test actors saying `emotion`, as sounds/ser-test/<key>.wav. */
export function writeVoice(ast: Asterisk, key: string, emotion: string, count: number, first = 0, level: 'XX' | 'HI' = 'XX'): void {
  writeFileSync(join(ast.sounds, 'ser-test', `${key}.wav`), encodeWav([testActorSpeech(emotion, count, first, level)], 8000, 'pcm16'));
}

/**
 * A test caller: Local/<key>@ser-test-phone/n. Its ;1 half (id `callId`) runs the dialplan `ser-test,<mode>`
 * (monitor: ser-monitor then waits for GLOBAL(GO_<key>) to run ser-decide; queue: ser-queue), its ;2 half
 * (the phone) plays sounds/ser-test/<key> over and over and records what it hears.
 */
export async function placeCall(ast: Asterisk, key: string, mode: 'monitor' | 'queue'): Promise<string> {
  const callId = `rt-${key}-${Date.now().toString(36)}`;
  const r = await ast.ari(
    'POST',
    '/channels',
    { endpoint: `Local/${key}@ser-test-phone/n`, context: 'ser-test', extension: mode, priority: '1', channelId: callId, otherChannelId: `${callId}-phone`, formats: 'ulaw', callerId: key },
    { variables: { KEY: key } },
  );
  if (r.status !== 200) throw new Error(`originate ${key}: ${r.status} ${JSON.stringify(r.body)}`);
  return callId;
}

export async function globalVar(ast: Asterisk, name: string): Promise<string> {
  const r = await ast.ari('GET', '/asterisk/variable', { variable: name });
  return r.status === 200 ? String(r.body.value ?? '') : '';
}

export async function setGlobal(ast: Asterisk, name: string, value: string): Promise<void> {
  const r = await ast.ari('POST', '/asterisk/variable', { variable: name, value });
  if (r.status !== 204) throw new Error(`set global ${name}: ${r.status}`);
}

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  dialplan: { context: string; exten: string; app_name?: string };
}
export interface AriBridge {
  id: string;
  bridge_type: string;
  channels: string[];
}

export async function channels(ast: Asterisk): Promise<AriChannel[]> {
  return (await ast.ari('GET', '/channels')).body as AriChannel[];
}
export async function bridges(ast: Asterisk): Promise<AriBridge[]> {
  return (await ast.ari('GET', '/bridges')).body as AriBridge[];
}

/** What ser-ari made on Asterisk and left there: channels and bridges whose ids start with `ser-`. */
export async function leftovers(ast: Asterisk): Promise<{ channels: string[]; bridges: string[] }> {
  return {
    channels: (await channels(ast)).map((c) => c.id).filter((id) => id.startsWith('ser-')),
    bridges: (await bridges(ast)).map((b) => b.id).filter((id) => id.startsWith('ser-')),
  };
}

/**
 * Waits until ser-ari left nothing of its own on Asterisk (its clean-up runs after the events). While
 * ser-ari runs, its queue keeps an empty holding bridge for the next caller: `holding: 'kept'` allows it.
 */
export async function noLeftovers(ast: Asterisk, ms = 10_000, holding: 'kept' | 'none' = 'none'): Promise<void> {
  let last: unknown;
  await until(
    async () => {
      const l = await leftovers(ast);
      const emptyHolding = new Set((await bridges(ast)).filter((b) => b.id.startsWith('ser-qhold-') && b.channels.length === 0).map((b) => b.id));
      if (holding === 'kept') l.bridges = l.bridges.filter((id) => !emptyHolding.has(id));
      last = l;
      return l.channels.length === 0 && l.bridges.length === 0;
    },
    ms,
    'no ser-ari channels or bridges left',
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(last)}`);
  });
}

/** The call is tapped: a `ser-snoop-*-<callId>` channel sits in a `ser-bridge-*-<callId>` bridge with an externalMedia channel. */
export async function tapped(ast: Asterisk, callId: string): Promise<boolean> {
  const bs = await bridges(ast);
  return bs.some((b) => b.id.startsWith('ser-bridge-') && b.id.endsWith(`-${callId}`) && b.channels.some((c) => c.startsWith('ser-snoop-')) && b.channels.some((c) => c.startsWith('ser-em-')));
}

export async function bridgeOf(ast: Asterisk, callId: string): Promise<AriBridge | undefined> {
  return (await bridges(ast)).find((b) => b.channels.includes(callId));
}

export async function channelGone(ast: Asterisk, id: string): Promise<boolean> {
  return (await ast.ari('GET', `/channels/${encodeURIComponent(id)}`)).status === 404;
}

/** Hangs up whatever test callers are still up (their ;1 halves), so the next test starts clean. */
export async function hangupTestCalls(ast: Asterisk): Promise<void> {
  for (const c of await channels(ast).catch(() => [])) {
    if (c.id.startsWith('rt-') && !c.id.endsWith('-phone')) await ast.ari('DELETE', `/channels/${c.id}`).catch(() => undefined);
  }
  await until(async () => (await channels(ast)).every((c) => !c.id.startsWith('rt-')), 10_000, 'test calls gone');
}

/** PCM of what the phone of caller `key` heard (MixMonitor's r() file), read even while it is still being written. */
export function heard(ast: Asterisk, key: string): Float32Array {
  return readPcm(join(ast.recordings, `${key}-heard.wav`));
}




/**
 * Where `needle` is inside `hay`: its offset (best match of 20 ms energy envelopes) and how well the
 * waveforms match there, as the median over the needle's 1 s pieces of the normalised correlation, each
 * piece aligned on its own within 100 ms (a snoop re-clocks audio and may drop or insert a 20 ms frame).
 */
export function findAudio(hay: Float32Array, needle: Float32Array): { offsetSeconds: number; correlation: number } {
  const F = 160;
  const env = (x: Float32Array) => Float32Array.from({ length: Math.floor(x.length / F) }, (_, i) => rms(x, i * F, (i + 1) * F));
  const ncc = (a: Float32Array, ao: number, b: Float32Array, bo: number, len: number) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = 0; i < len; i++) {
      const x = a[ao + i]!;
      const y = b[bo + i]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
  };
  const h = env(hay);
  const n = env(needle);
  if (h.length < n.length || n.length === 0) return { offsetSeconds: -1, correlation: 0 };
  let frame = 0;
  let bestEnv = -1;
  for (let o = 0; o + n.length <= h.length; o++) {
    const c = ncc(h, o, n, 0, n.length);
    if (c > bestEnv) [bestEnv, frame] = [c, o];
  }
  const offset = frame * F;
  const pieces: number[] = [];
  for (let p = 0; p + 8000 <= needle.length; p += 8000) {
    if (rms(needle, p, p + 8000) < 0.01) continue; // a pause in the prompt tells nothing
    let best = 0;
    for (let lag = -800; lag <= 800; lag++) {
      const at = offset + p + lag;
      if (at < 0 || at + 8000 > hay.length) continue;
      best = Math.max(best, ncc(hay, at, needle, p, 8000));
    }
    pieces.push(best);
  }
  pieces.sort((a, b) => a - b);
  return { offsetSeconds: offset / 8000, correlation: pieces.length ? pieces[Math.floor(pieces.length / 2)]! : 0 };
}

/**
 * The level of what caller `key`'s phone heard in the last second, measured on audio recorded after
 * this call (waits until MixMonitor has written 1.2 s more). The hold music is a 440 Hz tone at RMS 0.21.
 */
export async function hearsNow(ast: Asterisk, key: string): Promise<number> {
  const start = heard(ast, key).length;
  const rec = await until(
    () => {
      const x = heard(ast, key);
      return x.length >= start + 9600 ? x : null;
    },
    8000,
    `${key}'s recording grows`,
  );
  return rms(rec, rec.length - 8000);
}

/** Waits until caller `key` hears music on hold (RMS above 0.1 over a second), and returns the level. */
export async function hearsMusic(ast: Asterisk, key: string, ms = 10_000): Promise<number> {
  let level = 0;
  await until(
    async () => {
      level = await hearsNow(ast, key);
      return level > 0.1;
    },
    ms,
    `${key} hears music on hold`,
    0,
  ).catch((e: Error) => {
    throw new Error(`${e.message} (last second's RMS ${level.toFixed(4)})`);
  });
  return level;
}

/** The ser-ari holding bridge holding `callId`, if any. */
export async function holdingBridgeOf(ast: Asterisk, callId: string): Promise<AriBridge | undefined> {
  const b = await bridgeOf(ast, callId);
  return b?.id.startsWith('ser-qhold-') ? b : undefined;
}

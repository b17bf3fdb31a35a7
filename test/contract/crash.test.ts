import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { FsSimulator } from '../../src/sim/freeswitch/index.js';
import { freePort, until } from '../helpers/net.js';
import { MODEL, REPO } from '../helpers/paths.js';

/*
 * The contract's crash case, on both switches: ser-ari as a real process (`ser-ari run` through tsx)
 * against the simulator in this process, killed with SIGKILL while callers talk, then started again.
 * The callers' calls go on; the restarted ser-ari finds its callers again by the mark it left on the
 * switch (SER_TAPPED_BY on Asterisk, the mod_hash claim on FreeSWITCH) and taps them; afterwards nothing
 * of ours is left. On FreeSWITCH a caller who hung up while ser-ari was down leaves no claim behind.
 */

interface Switch {
  env(): Record<string, string>;
  /** Resolves once a started ser-ari is connected and subscribed. */
  connected(): Promise<void>;
  place(number: string): Promise<string>;
  hangup(id: string): void;
  up(id: string): boolean;
  tapped(id: string): boolean;
  leftovers(): string[];
  stop(): Promise<void>;
}

const tone = (seconds: number): Float32Array => Float32Array.from({ length: seconds * 8000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / 8000) * (1 + Math.sin(i / 800)) * 0.5);

async function asteriskSwitch(): Promise<Switch> {
  const sim = await AriSimulator.start({ host: '127.0.0.1', port: 0 });
  return {
    env: () => ({ SER_ARI_URL: sim.url, SER_ARI_USER: sim.user, SER_ARI_PASSWORD: sim.password }),
    connected: () =>
      new Promise((resolve) => {
        const onRest = (r: { path: string; status: number }): void => {
          if (r.path.startsWith('/ari/events') && r.status === 101) {
            sim.off('rest', onRest);
            resolve();
          }
        };
        sim.on('rest', onRest);
      }),
    place: (number) => sim.placeCall({ stasisArgs: ['monitor'], audio: tone(60), loop: true, number }),
    hangup: (id) => sim.hangup(id),
    up: (id) => sim.channel(id)?.hungUp === false,
    tapped: (id) => sim.channels().some((c) => !c.hungUp && c.kind === 'snoop' && c.snoopOf === id && sim.bridges().some((b) => b.channelIds.includes(c.id))),
    leftovers: () => [...sim.channels().filter((c) => !c.hungUp && c.id.startsWith('ser-')).map((c) => c.id), ...sim.bridges().map((b) => b.id)],
    stop: () => sim.stop(),
  };
}

async function freeswitchSwitch(): Promise<Switch> {
  const sim = await FsSimulator.start();
  return {
    env: () => ({ SER_ESL_HOST: '127.0.0.1', SER_ESL_PORT: String(sim.port), SER_ESL_PASSWORD: 'ClueCon', SER_FORK_PORT: '0' }),
    // ser-ari reconciles (`show channels as json`) once authenticated and subscribed.
    connected: () =>
      new Promise((resolve) => {
        const onApi = (command: string): void => {
          if (command === 'show channels as json') {
            sim.off('api', onApi);
            resolve();
          }
        };
        sim.on('api', onApi);
      }),
    place: async (number) => sim.placeCall({ audio: tone(60), number }),
    hangup: (id) => void sim.hangup(id),
    up: (id) => sim.channel(id)?.hungUp === false,
    tapped: (id) => sim.channel(id)?.fork?.open === true,
    leftovers: () => [
      ...sim.channels().filter((c) => c.fork?.open).map((c) => `fork ${c.uuid}`),
      ...Object.keys(sim.hashEntries('ser_claim')).filter((uuid) => !sim.channel(uuid)).map((uuid) => `claim ${uuid}`),
    ],
    stop: () => sim.stop(),
  };
}

const children: ChildProcess[] = [];
let current: Switch | null = null;
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await current?.stop();
  current = null;
});



async function startSerAri(sw: Switch, rtpPorts: string): Promise<{ child: ChildProcess; log: string[] }> {
  const connected = sw.connected();
  const log: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'run'], {
    cwd: REPO,
    env: { ...process.env, ...sw.env(), SER_HTTP_PORT: String(await freePort()), SER_RTP_PORTS: rtpPorts, SER_MODEL: MODEL, SER_LOG_LEVEL: 'info', SER_HISTORY_PATH: ':memory:' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => log.push(String(d)));
  child.stderr!.on('data', (d: Buffer) => log.push(String(d)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`ser-ari exited (${code}) before connecting:\n${log.join('').slice(-2000)}`))));
  await Promise.race([connected, exited]);
  return { child, log };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe.each([
  { name: 'asterisk', open: asteriskSwitch, ports: '46600-46649' },
  { name: 'freeswitch', open: freeswitchSwitch, ports: '46650-46699' },
])('PBX contract on the $name simulator: ser-ari crashes', ({ name, open, ports }) => {
  it('SIGKILL with callers talking: calls go on, the restarted ser-ari taps them again, nothing of ours is left', async () => {
    const sw = await open();
    current = sw;
    const first = await startSerAri(sw, ports);
    const callers = [await sw.place('15550101'), await sw.place('15550102'), await sw.place('15550103')];
    await until(() => callers.every((id) => sw.tapped(id)), 20_000, 'all three tapped');
    await killed(first.child);
    // The caller who hangs up while ser-ari is down must leave nothing behind either.
    sw.hangup(callers[2]!);
    expect(callers.slice(0, 2).map((id) => sw.up(id))).toEqual([true, true]);

    const second = await startSerAri(sw, ports);
    await until(() => callers.slice(0, 2).every((id) => sw.tapped(id)), 20_000, `both live callers tapped again (${name})`);
    for (const id of callers.slice(0, 2)) sw.hangup(id);
    await until(() => sw.leftovers().length === 0, 15_000, `no leftovers: ${sw.leftovers().join(', ')}`);
    second.child.kill('SIGTERM');
  }, 90_000);
});

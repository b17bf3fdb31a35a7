import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AriSimulator } from '../../src/sim/ari/index.js';
import { freePort, until } from '../helpers/net.js';
import { MODEL, REPO as ROOT } from '../helpers/paths.js';

/*
 * ser-ari as a real process (`ser-ari run`, through tsx) against the simulator in this process, killed
 * with SIGKILL or stopped with SIGTERM and started again, as an operator's restart or a crash does.
 */

const children: ChildProcess[] = [];
let sim: AriSimulator | undefined;

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await sim?.stop();
  sim = undefined;
});



/** Starts `ser-ari run` against the simulator and waits for its Stasis websocket. */
async function startSerAri(s: AriSimulator, configFile: string, rtpPorts: string): Promise<{ child: ChildProcess; log: string[] }> {
  let wsConnects = 0;
  const onRest = (r: { path: string; status: number }) => {
    if (r.path.startsWith('/ari/events') && r.status === 101) wsConnects++;
  };
  s.on('rest', onRest);
  const log: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'run', '--config', configFile], {
    cwd: ROOT,
    env: {
      ...process.env,
      SER_ARI_URL: s.url,
      SER_ARI_USER: s.user,
      SER_ARI_PASSWORD: s.password,
      SER_HTTP_PORT: String(await freePort()),
      SER_RTP_PORTS: rtpPorts,
      SER_MODEL: MODEL,
      SER_LOG_LEVEL: 'info',
      SER_HISTORY_PATH: ':memory:', // nothing written into the checkout
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => log.push(String(d)));
  child.stderr!.on('data', (d: Buffer) => log.push(String(d)));
  try {
    await until(() => wsConnects > 0, 30_000, 'ser-ari connected');
  } finally {
    s.off('rest', onRest);
  }
  return { child, log };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

const ours = (s: AriSimulator) => ({
  channels: s.channels().filter((c) => !c.hungUp && c.id.startsWith('ser-')).map((c) => c.id),
  bridges: s.bridges().map((b) => b.id),
});
const tappedBy = (s: AriSimulator, callId: string) => s.channels().some((c) => !c.hungUp && c.kind === 'snoop' && c.snoopOf === callId && s.bridges().some((b) => b.channelIds.includes(c.id)));

describe('ser-ari restarts with callers in every mode', () => {
  it('after SIGKILL: a caller talking to an agent keeps talking, a waiting caller stays queued, both are tapped again; nothing of the old run is left (issue 12 bug 4)', async () => {
    const s = (sim = await AriSimulator.start({ host: '127.0.0.1' }));
    s.addAgent({ endpoint: 'PJSIP/1001', behaviour: 'answer', answerAfterMs: 100 });
    const dir = mkdtempSync(join(tmpdir(), 'ser-restart-'));
    const cfg = join(dir, 'ser-ari.yaml');
    writeFileSync(cfg, 'queues:\n  - name: support\n    agents: [PJSIP/1001]\n    ringTimeoutSeconds: 10\n');
    const first = await startSerAri(s, cfg, '47700-47719');

    const talking = await s.placeCall({ stasisArgs: ['queue', 'support'], number: '5550101' });
    await until(() => s.bridges().some((b) => b.id.startsWith('ser-qcall-') && b.channelIds.includes(talking) && b.channelIds.length === 2), 15_000, 'caller bridged with the agent');
    const conversation = s.bridges().find((b) => b.channelIds.includes(talking))!;
    const waiting = await s.placeCall({ stasisArgs: ['queue', 'support'], number: '5550102' });
    await until(() => s.bridges().some((b) => b.id.startsWith('ser-qhold-') && b.channelIds.includes(waiting)) && tappedBy(s, waiting), 15_000, 'second caller waiting, tapped');
    const oldHolding = s.bridges().find((b) => b.channelIds.includes(waiting))!.id;
    const monitored = await s.placeCall({ stasisArgs: ['monitor'], number: '5550103' });
    await until(() => tappedBy(s, monitored), 15_000, 'monitor caller tapped');

    first.child.kill('SIGKILL');
    await exited(first.child);
    const second = await startSerAri(s, cfg, '47720-47739');

    await until(() => tappedBy(s, talking) && tappedBy(s, waiting) && tappedBy(s, monitored), 20_000, 'all three tapped again');
    await until(() => !s.bridges().some((b) => b.id === oldHolding), 10_000, 'the old holding bridge removed');
    // The conversation was never interrupted: same bridge, same two channels.
    expect(s.bridges().find((b) => b.id === conversation.id)!.channelIds.sort()).toEqual([...conversation.channelIds].sort());
    expect(s.channel(talking)).toMatchObject({ inStasis: true, hungUp: false });
    const holdingNow = s.bridges().find((b) => b.id.startsWith('ser-qhold-'))!;
    expect(holdingNow).toMatchObject({ channelIds: [waiting], moh: 'default' });
    expect(s.channel(monitored)).toMatchObject({ inStasis: false, hungUp: false });

    // The adopted conversation ends as any other: the agent hangs up, the caller goes on in the dialplan.
    const agentLeg = conversation.channelIds.find((id) => id !== talking)!;
    s.hangup(agentLeg);
    await until(() => s.channel(talking)?.inStasis === false, 10_000, 'caller back in the dialplan').catch((e) => {
      console.log(second.log.join('').split('\n').filter((l) => /queue|agent|adopt|took|conversation/i.test(l)).join('\n'));
      throw e;
    });
    expect(s.channel(talking)!.leftStasisWith).toMatchObject({ SER_QUEUESTATUS: 'COMPLETED' });
    await until(() => !s.bridges().some((b) => b.id === conversation.id), 5000, 'conversation bridge removed');

    second.child.kill('SIGTERM');
    const code = await exited(second.child);
    if (code !== 0) console.log(second.log.join('').split('\n').slice(-15).join('\n'));
    expect(code).toBe(0);
    expect(ours(s)).toEqual({ channels: [], bridges: [] });
    expect(s.channel(waiting)).toMatchObject({ inStasis: false, hungUp: false }); // back in the dialplan, not hung up
  }, 90_000);

  it('after a planned restart (SIGTERM, then start): callers in every mode that were tapped are found and tapped again (issue 12 item 3)', async () => {
    const s = (sim = await AriSimulator.start({ host: '127.0.0.1' }));
    s.addAgent({ endpoint: 'PJSIP/1001', behaviour: 'no-answer' });
    const dir = mkdtempSync(join(tmpdir(), 'ser-restart-'));
    const cfg = join(dir, 'ser-ari.yaml');
    writeFileSync(cfg, 'queues:\n  - name: support\n    agents: [PJSIP/1001]\n    ringTimeoutSeconds: 5\n');
    const first = await startSerAri(s, cfg, '47740-47759');
    const callers = [
      await s.placeCall({ stasisArgs: ['monitor'], number: '5550201' }),
      await s.placeCall({ stasisArgs: ['decide'], number: '5550202' }),
      await s.placeCall({ stasisArgs: ['queue', 'support'], number: '5550203' }),
    ];
    const untouched = await s.placeCall({ stasisArgs: ['elsewhere'], app: 'other', number: '5550204' });
    await until(() => callers.every((id) => tappedBy(s, id)), 20_000, 'three callers tapped');

    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(ours(s)).toEqual({ channels: [], bridges: [] });
    expect(callers.map((id) => s.channel(id)!.hungUp)).toEqual([false, false, false]);

    const second = await startSerAri(s, cfg, '47760-47779');
    await until(() => callers.every((id) => tappedBy(s, id)), 20_000, 'the three callers tapped again');
    expect(tappedBy(s, untouched)).toBe(false); // never ours: left alone
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    expect(ours(s)).toEqual({ channels: [], bridges: [] });
  }, 90_000);
});

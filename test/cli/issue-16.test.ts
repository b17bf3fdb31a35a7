import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import { REPO } from '../helpers/paths.js';

const MAIN = resolve(REPO, 'src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI from source (tsx) with the service's ports out of the way of other tests. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: REPO,
      env: { ...process.env, SER_LOG_LEVEL: 'warn', SER_HISTORY_PATH: ':memory:', SER_HTTP_PORT: '0', SER_RTP_PORTS: '44920-44949', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** At most `n` CLI processes at once: each is a Node start-up with tsx. */
async function inBatches<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(fn))));
  return out;
}

const lines = (s: string): string[] => s.trim().split('\n');
const STACK = /\n\s+at /;

const dir = mkdtempSync(join(tmpdir(), 'ser-cli-16-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Three seconds of a voiced-sounding tone at 8 kHz. */
function speechLike(seconds: number): Float32Array {
  const x = new Float32Array(Math.round(8000 * seconds));
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 180 * i) / 8000) * (0.6 + 0.4 * Math.sin((2 * Math.PI * 3 * i) / 8000));
  return x;
}

function write(path: string, bytes: Uint8Array | number[]): string {
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, Uint8Array.from(bytes));
  return path;
}

describe('issue 16: the command line', () => {
  it('--help for every command: its usage on stdout, exit code 0', async () => {
    const runs = await inBatches([['--help'], ['run', '--help'], ['analyze', '--help'], ['bench', '-h'], ['bench-model', '--help']], 3, (args) => cli(args));
    for (const [i, r] of runs.entries()) {
      expect(r.code, String(i)).toBe(0);
      expect(r.stdout, String(i)).toMatch(/usage:/);
      expect(r.stderr, String(i)).toBe('');
    }
    expect(runs[1]!.stdout).toContain('ser-ari run [--config ser-ari.yaml] [--pbx asterisk|freeswitch] [--audio folder] [--seconds N]');
    expect(runs[4]!.stdout).toContain('--runs');
  });

  it('--version prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: `${version}\n` });
  });

  it('every bad argument of every command: one line naming the problem, exit code 2, no stack trace', async () => {
    const wav = write(join(dir, 'args', 'a.wav'), encodeWav([speechLike(1)], 8000, 'pcm16'));
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /^ser-ari: unknown command "frobnicate"/],
      [['run', '--bogus'], /^ser-ari run: Unknown option '--bogus'/],
      [['run', '--seconds', '-5'], /^ser-ari run: --seconds wants a positive number, got "-5"/],
      [['run', '--seconds', 'abc'], /--seconds wants a positive number, got "abc"/],
      [['run', '--seconds', '0'], /--seconds wants a positive number/],
      [['run', 'now'], /^ser-ari run: unexpected argument "now"/],
      [['run', '--config'], /^ser-ari run: Option '--config <value>' argument missing/],
      [['analyze', '--json', '--csv', wav], /^ser-ari analyze: --json and --csv cannot be used together/],
      [['analyze', '--threshold', '1.5', wav], /--threshold wants a number between 0 and 1, got "1.5"/],
      [['analyze', '--threshold', '-1', wav], /--threshold wants a number between 0 and 1, got "-1"/],
      [['analyze'], /^ser-ari analyze: name at least one WAV file or folder/],
      [['analyze', '--bogus', wav], /^ser-ari analyze: Unknown option '--bogus'/],
      [['bench', '--seconds', '-5'], /^ser-ari bench: --seconds wants a positive number, got "-5"/],
      [['bench', '--calls', '10,abc'], /--calls wants a positive number, got "abc"/],
      [['bench', '--workers', '1.5'], /--workers wants a whole number, got "1.5"/],
      [['bench', '--warmup', 'soon'], /--warmup wants a number of seconds/],
      [['bench', 'fast'], /^ser-ari bench: unexpected argument "fast"/],
      [['bench-model', '--runs', 'abc'], /^ser-ari bench-model: --runs wants a positive number, got "abc"/],
      [['bench-model', '--bogus'], /^ser-ari bench-model: Unknown option '--bogus'/],
    ];
    const runs = await inBatches(cases, 3, ([args]) => cli(args));
    runs.forEach((r, i) => {
      const [args, message] = cases[i]!;
      const what = `${args.join(' ')}: ${r.stderr}`;
      expect(r.code, what).toBe(2);
      expect(lines(r.stderr), what).toHaveLength(1);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).toMatch(/\(ser-ari( [a-z-]+)? --help\)$/m);
      expect(r.stderr, what).not.toMatch(STACK);
      expect(r.stdout, what).toBe('');
    });
  }, 120_000);

  it('analyze: a truncated WAV and an MP3 are reported with what to do, the other files analysed, exit code 1', async () => {
    const folder = join(dir, 'recordings');
    const full = encodeWav([speechLike(8.5)], 8000, 'pcm16');
    write(join(folder, '1-cut.wav'), full.subarray(0, 44 + 2 * 7200)); // 0.9 s of a declared 8.5 s
    write(join(folder, '2-good.wav'), encodeWav([speechLike(4)], 8000, 'pcm16'));
    write(join(folder, 'song.mp3'), [0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    const r = await cli(['analyze', folder, join(folder, 'song.mp3'), '--json']);
    expect(r.code, r.stderr).toBe(1);
    const results = lines(r.stdout).map((l) => JSON.parse(l) as { file: string; duration: number });
    expect(results.map((x) => x.file)).toEqual([join(folder, '2-good.wav')]);
    expect(results[0]!.duration).toBeCloseTo(4, 1);
    expect(r.stderr).toContain(`${join(folder, '1-cut.wav')}: truncated: the header declares 8.5 s of audio but the file holds 0.9 s; copy it again from the source`);
    expect(r.stderr).toContain(`${join(folder, 'song.mp3')}: an MP3 file, not WAV: convert it with "ffmpeg -i song.mp3 -ar 8000 -ac 1 out.wav" (or "sox song.mp3 -r 8000 -c 1 out.wav")`);
    expect(r.stderr).toMatch(/recordings: 1 \.mp3 file\(s\) skipped, only WAV is read: convert them/);
    expect(r.stderr).toContain('2 of 3 input(s) could not be analysed');
    expect(r.stderr).not.toMatch(STACK);
  });

  it('analyze: a missing path is reported and counted, the others analysed', async () => {
    const good = write(join(dir, 'one', 'good.wav'), encodeWav([speechLike(3)], 8000, 'ulaw'));
    const r = await cli(['analyze', join(dir, 'nowhere'), good, '--csv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'nowhere')}: no such file or folder`);
    expect(lines(r.stdout)[0]).toMatch(/^file,channel,start,end/);
    expect(lines(r.stdout).length).toBeGreaterThan(1);
  });

  it('run --audio with a missing folder, an empty one or a bad WAV: one line, exit code 2, nothing started', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const bad = join(dir, 'voices-bad');
    write(join(bad, 'a.wav'), encodeWav([speechLike(2)], 8000, 'pcm16'));
    write(join(bad, 'b.wav'), encodeWav([speechLike(8.5)], 8000, 'pcm16').subarray(0, 44 + 2 * 7200));
    const mp3 = join(dir, 'voices-mp3');
    write(join(mp3, 'c.wav'), [0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0]);
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'no-such-folder'), /--audio \S+no-such-folder: no such folder/],
      [empty, /--audio \S+empty: holds no \.wav file/],
      [bad, /--audio \S+b\.wav: truncated: the header declares 8\.5 s/],
      [mp3, /--audio \S+c\.wav: an MP3 file, not WAV: convert it with "ffmpeg -i c\.wav -ar 8000 -ac 1 out\.wav"/],
    ];
    const runs = await inBatches(cases, 2, ([folder]) => cli(['run', '--audio', folder, '--seconds', '60']));
    runs.forEach((r, i) => {
      const what = `${cases[i]![0]}: ${r.stderr}`;
      expect(r.code, what).toBe(2);
      expect(lines(r.stderr), what).toHaveLength(1);
      expect(r.stderr, what).toMatch(cases[i]![1]);
      expect(r.stderr, what).not.toContain('ser-ari is running');
    });
  });

  it('run --audio is refused when an ARI URL is configured (it is for the demo only)', async () => {
    const r = await cli(['run', '--audio', dir], { SER_ARI_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual(['ser-ari run: --audio is for the demo only, and a switch is configured (ser-ari run --help)']);
  });

  it('run --pbx: only asterisk or freeswitch, and only for the demo', async () => {
    const [bad, configured] = await Promise.all([
      cli(['run', '--pbx', 'yate', '--seconds', '60']),
      cli(['run', '--pbx', 'freeswitch', '--seconds', '60'], { SER_ESL_HOST: '127.0.0.1' }),
    ]);
    expect([bad.code, configured.code]).toEqual([2, 2]);
    expect(lines(bad.stderr)).toEqual(['ser-ari run: --pbx must be asterisk or freeswitch, got "yate" (ser-ari run --help)']);
    expect(lines(configured.stderr)).toEqual(['ser-ari run: --pbx is for the demo only, and a switch is configured (ser-ari run --help)']);
  });

  it('run --seconds 2 with --audio: the demo runs on those voices and stops by itself', async () => {
    const voices = join(dir, 'voices');
    for (const n of ['x', 'y', 'z']) write(join(voices, `${n}.wav`), encodeWav([speechLike(3)], 16000, 'pcm16'));
    const r = await cli(['run', '--audio', voices, '--seconds', '2'], { SER_LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('ser-ari is running');
    expect(r.stdout).toContain(`"source":"${voices}"`);
    expect(r.stdout).toContain('"reason":"--seconds elapsed"');
  });

  it('run --seconds 2 against an Asterisk that does not answer stops by itself', async () => {
    const r = await cli(['run', '--seconds', '2'], { SER_ARI_URL: 'http://127.0.0.1:9', SER_LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('"reason":"--seconds elapsed"');
  });

  it('bench --seconds 1 measures one second per step', async () => {
    const r = await cli(['bench', '--calls', '2', '--seconds', '1', '--warmup', '0', '--json'], { SER_RTP_PORTS: '44950-44959' });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { results: Array<{ calls: number; seconds: number }> };
    expect(out.results.map((s) => s.calls)).toEqual([2]);
    expect(out.results[0]!.seconds).toBeGreaterThan(0.95);
    expect(out.results[0]!.seconds).toBeLessThan(1.5);
  });
});

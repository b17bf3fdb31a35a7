import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const MAIN = resolve(REPO, 'src/cli/main.ts');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the CLI from source (tsx); `onStderr` sees each chunk and may signal the child. */
function cli(args: string[], env: Record<string, string> = {}, onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: REPO,
      env: { ...process.env, SER_LOG_LEVEL: 'warn', SER_HISTORY_PATH: ':memory:', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      // a CLI that never exits (the bug some of these tests look for) fails the test instead of
      // hanging it and outliving the run
      timeout: 30_000,
      killSignal: 'SIGKILL',
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      stderr += c;
      onStderr?.(stderr, (sig) => child.kill(sig));
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => done({ code, signal, stderr }));
  });
}

const oneLine = (s: string): string[] => s.trim().split('\n');

describe('issue 13: the command line fails clearly', () => {
  it('--seconds abc: one line and exit code 2', async () => {
    const r = await cli(['run', '--seconds', 'abc']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('--seconds');
  });

  it('an unknown flag: one line (no stack trace) and exit code 2', async () => {
    for (const args of [['run', '--bogus'], ['bench', '--calls']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(oneLine(r.stderr), args.join(' ')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('SER_ARI_URL with a scheme other than http(s) is a config error at start, not endless retries', async () => {
    const r = await cli(['run'], { SER_ARI_URL: 'ftp://pbx.example/ari' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ari.url (from SER_ARI_URL)');
    expect(r.stderr).toContain('CONFIG_INVALID');
  });

  it('bench takes its ports from SER_RTP_PORTS and refuses a range too small for the calls asked for', async () => {
    const r = await cli(['bench', '--calls', '300', '--seconds', '1'], { SER_RTP_PORTS: '45000-45009' });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('SER_RTP_PORTS 45000-45009 has 10 ports, fewer than the 300 calls');
  });

  it('SIGTERM stops the service at once, without waiting for the --seconds timer', async () => {
    let signalled = false;
    const r = await cli(
      ['run', '--seconds', '3600'],
      // Nothing listens there: the service starts and keeps retrying ARI in the background.
      { SER_ARI_URL: 'http://127.0.0.1:9', SER_HTTP_PORT: '0', SER_RTP_PORTS: '44900-44909' },
      (text, kill) => {
        if (!signalled && text.includes('ser-ari is running')) {
          signalled = true;
          kill('SIGTERM');
        }
      },
    );
    expect(signalled).toBe(true);
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
  });
});

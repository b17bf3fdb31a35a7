import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from './net.js';
import { MODEL, REPO } from './paths.js';

/*
 * ser-ari as a child process (`node --import tsx src/cli/main.ts run`) for the real-switch suites: its log
 * lines, the events of its /events stream and its console API. Every process the suites start (the switch,
 * ser-ari) is killed when the test process exits, whatever failed.
 */

const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

export async function until<T>(check: () => T | Promise<T>, ms: number, what: string, pollMs = 100): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface SerEvent {
  type: string;
  callId?: string;
  [k: string]: unknown;
}

export interface SerProcessSpec {
  /** Folder for the config and rules files. */
  dir: string;
  /** Lines of the YAML config (rules and extraYaml are appended). */
  config: string[];
  rules?: string;
  extraYaml?: string;
  /** The switch's connection settings (SER_ARI_* or SER_ESL_*, ...), beside the ones every run gets. */
  env: Record<string, string>;
  /** Who forced actions are recorded as (`by`). */
  by: string;
  /** ser-ari is up and connected to its switch. */
  ready(s: SerProcess): boolean | Promise<boolean>;
  what: string;
}

/** ser-ari run as a process. */
export class SerProcess {
  readonly log: string[] = [];
  readonly events: SerEvent[] = [];
  #ws: WebSocket | null = null;

  protected constructor(
    readonly child: ChildProcess,
    readonly httpPort: number,
    readonly by: string,
  ) {}

  protected static async launch<S extends SerProcess>(make: (child: ChildProcess, httpPort: number) => S, spec: SerProcessSpec): Promise<S> {
    const cfg = join(spec.dir, `ser-ari-${Date.now()}.yaml`);
    const lines = [...spec.config];
    if (spec.rules) {
      const rules = join(spec.dir, `rules-${Date.now()}.yaml`);
      writeFileSync(rules, spec.rules);
      lines.push(`rules: ${rules}`);
    }
    if (spec.extraYaml) lines.push(spec.extraYaml);
    writeFileSync(cfg, `${lines.join('\n')}\n`);
    const httpPort = await freePort();
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'run', '--config', cfg], {
        cwd: REPO,
        env: {
          ...process.env,
          ...spec.env,
          SER_HISTORY_PATH: ':memory:', // several ser-ari at once, and nothing written into the checkout
          SER_HTTP_HOST: '127.0.0.1',
          SER_HTTP_PORT: String(httpPort),
          SER_RTP_HOST: '127.0.0.1',
          SER_MODEL: MODEL,
          SER_LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const s = make(child, httpPort);
    let partial = '';
    const onData = (b: Buffer) => {
      const parts = (partial + String(b)).split('\n');
      partial = parts.pop()!;
      s.log.push(...parts.filter((l) => l.trim() !== ''));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    try {
      await until(async () => (await spec.ready(s)) || child.exitCode !== null, 40_000, spec.what);
      if (child.exitCode !== null) throw new Error(`ser-ari exited ${child.exitCode}:\n${s.log.slice(-20).join('\n')}`);
      await s.#subscribe();
    } catch (err) {
      console.log(s.log.slice(-30).join('\n'));
      await s.stop('SIGKILL');
      throw err;
    }
    return s;
  }

  async #subscribe(): Promise<void> {
    const ws = new WebSocket(`ws://127.0.0.1:${this.httpPort}/events`);
    this.#ws = ws;
    ws.on('message', (m) => {
      try {
        this.events.push(JSON.parse(String(m)) as SerEvent);
      } catch {
        /* not an event */
      }
    });
    ws.on('error', () => undefined);
    await until(() => ws.readyState === WebSocket.OPEN, 15_000, 'console event stream open');
  }

  /** How many log lines match. */
  logged(re: RegExp): number {
    return this.log.filter((l) => re.test(l)).length;
  }

  eventsOf(callId: string, type: string): SerEvent[] {
    return this.events.filter((e) => e.callId === callId && e.type === type);
  }

  /** POST /api/calls/{id}/actions on the console: a supervisor's forced action. */
  async force(callId: string, action: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/api/calls/${encodeURIComponent(callId)}/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...(action as object), by: this.by }),
    });
    return { status: res.status, body: await res.json() };
  }

  /** The calls ser-ari tracks (GET /api/calls). */
  async calls(): Promise<string[]> {
    return (await this.records()).map((c) => c.callId);
  }

  /** The live call records (GET /api/calls): `tapped` is the tap state now, whatever events came before we listened. */
  async records(): Promise<Array<{ callId: string; tapped: boolean; channelName: string }>> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}/api/calls`);
    return ((await res.json()) as { calls: Array<{ callId: string; tapped: boolean; channelName: string }> }).calls;
  }

  async isTapped(callId: string): Promise<boolean> {
    return (await this.records()).some((c) => c.callId === callId && c.tapped);
  }

  /** Prometheus text of /metrics. */
  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
  }

  /** /healthz says the link to the switch is up. */
  async pbxConnected(): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/healthz`);
      const body = (await res.json()) as { pbx?: { connected: boolean } };
      return body.pbx?.connected === true;
    } catch {
      return false;
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.#ws?.terminate();
    if (!this.alive) return this.child.exitCode;
    const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
    this.child.kill(signal);
    return exited;
  }
}

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EslClient } from '../../src/freeswitch/esl-client.js';
import { EslParser, parseEventBody } from '../../src/freeswitch/esl-parser.js';
import type { FsEvent } from '../../src/freeswitch/events.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { connScripts, loadRecording, recordingNames, wire, type ConnScript, type InMsg } from './recordings.js';

const isReply = (m: InMsg): boolean => m.headers['Content-Type'] === 'command/reply' || m.headers['Content-Type'] === 'api/response';
const isEvent = (m: InMsg): boolean => m.headers['Content-Type']?.startsWith('text/event-') ?? false;
const normalize = (raw: string): string => raw.replace(/\nJob-UUID: [^\n]*/, '');

describe('ESL parser on every recorded message (shared/freeswitch/recorded)', () => {
  for (const name of recordingNames()) {
    it(`${name}: every message framed back exactly, split at random points, and every event body parses`, () => {
      const rand = mulberry32(name.length);
      for (const script of connScripts(loadRecording(name))) {
        const msgs = [...script.before, ...script.steps.flatMap((s) => s.replies)];
        const bytes = Buffer.concat(msgs.map(wire));
        const parser = new EslParser();
        const got = [];
        for (let at = 0; at < bytes.length; ) {
          const n = 1 + Math.floor(rand() * 3000);
          got.push(...parser.push(bytes.subarray(at, at + n)));
          at += n;
        }
        expect(parser.failure).toBeNull();
        expect(got).toHaveLength(msgs.length);
        for (let i = 0; i < msgs.length; i++) {
          expect(got[i]!.headers).toEqual(msgs[i]!.headers);
          expect(got[i]!.body).toEqual(msgs[i]!.body);
          if (msgs[i]!.body !== undefined) expect(Buffer.byteLength(msgs[i]!.body!)).toBe(Number(msgs[i]!.headers['Content-Length']));
          if (isEvent(msgs[i]!)) {
            const e = parseEventBody(got[i]!);
            expect(e, `${name} ${script.conn} #${i}`).not.toBeNull();
            expect(e!.name).toMatch(/^[A-Z_]+$/);
          }
        }
      }
    });
  }

  it('a plain event: values URL-decoded, the first of duplicate headers kept, the inner body cut at its Content-Length', () => {
    const body = 'Event-Name: CUSTOM\nEvent-Subclass: ser%3A%3Amonitor\nHangup-Cause: NORMAL_CLEARING\nHangup-Cause: OTHER\nBad: 100%\nContent-Length: 6\n\n+OK éxtra';
    const e = parseEventBody({ headers: { 'Content-Type': 'text/event-plain' }, body });
    expect(e).toMatchObject({ name: 'CUSTOM', subclass: 'ser::monitor', body: '+OK é' });
    expect(e!.headers['Hangup-Cause']).toBe('NORMAL_CLEARING');
    expect(e!.headers['Bad']).toBe('100%');
  });

  it('BAD INPUT: an absurd Content-Length or an endless header block stops the parser with a reason, never a throw', () => {
    const p = new EslParser({ maxBodyBytes: 1000, maxHeaderBytes: 100 });
    expect(p.push(Buffer.from('Content-Type: api/response\nContent-Length: 99999\n\n'))).toEqual([]);
    expect(p.failure).toMatch(/Content-Length/);
    const q = new EslParser({ maxHeaderBytes: 100 });
    q.push(Buffer.from('X: ' + 'a'.repeat(200)));
    expect(q.failure).toMatch(/header block/);
    expect(parseEventBody({ headers: { 'Content-Type': 'text/event-json' }, body: '{not json' })).toBeNull();
  });
});

/** Plays one recorded connection: FreeSWITCH's side, answering each command with what it sent after it. */
class Replayer {
  readonly server: Server;
  readonly received: string[] = [];
  #served = 0;
  #waiters: (() => void)[] = [];
  #socket: Socket | null = null;

  constructor(readonly script: ConnScript) {
    this.server = createServer((socket) => this.#serve(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as { port: number }).port;
  }

  served(n: number): Promise<void> {
    return this.#served >= n ? Promise.resolve() : new Promise((r) => this.#waiters.push(() => this.#served >= n && r()));
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
    await new Promise((r) => this.server.close(r));
  }

  #serve(socket: Socket): void {
    this.#socket = socket;
    socket.on('error', () => undefined);
    for (const m of this.script.before) socket.write(wire(m));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('utf8');
      for (let i; (i = buf.indexOf('\n\n')) >= 0; ) {
        this.received.push(buf.slice(0, i + 2));
        buf = buf.slice(i + 2);
        const step = this.script.steps[this.received.length - 1];
        if (!step) continue;
        for (const m of step.replies) socket.write(wire(m));
        if (step.replies.some((m) => m.headers['Content-Type'] === 'text/disconnect-notice')) socket.end();
        this.#served++;
        for (const w of this.#waiters) w();
      }
    });
  }
}

describe('ESL client replaying the recorded exchanges over TCP', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  const authed = recordingNames().flatMap((name) =>
    connScripts(loadRecording(name))
      .filter((s) => s.steps[0]?.raw.startsWith('auth ') && s.steps[0].replies[0]?.headers['Reply-Text'] === '+OK accepted')
      .map((s) => ({ name, s })),
  );

  it.each(authed.map(({ name, s }) => [name, s.conn, s] as const))('%s %s: sends each command byte for byte and resolves each with its recorded reply', async (_name, _conn, script) => {
    const rep = new Replayer(script);
    const port = await rep.listen();
    const password = script.steps[0]!.raw.slice(5, -2);
    const client = new EslClient({ host: '127.0.0.1', port, password, requestTimeoutMs: 3000, backoff: { initialMs: 60_000 } });
    cleanup.push(async () => {
      await client.close();
      await rep.close();
    });
    const events: FsEvent[] = [];
    const notices: string[] = [];
    client.on('event', (e) => events.push(e));
    client.on('disconnect-notice', (b) => notices.push(b));
    await client.start();
    await rep.served(1);

    // The k-th reply on a connection answers the k-th command (ESL answers strictly in order).
    const replies = script.steps.flatMap((s) => s.replies).filter(isReply);
    const results: Promise<unknown>[] = [];
    const expected: unknown[] = [];
    for (let i = 1; i < script.steps.length; i++) {
      const raw = script.steps[i]!.raw;
      const reply = replies[i]!;
      const line = raw.split('\n')[0]!;
      if (line.startsWith('api ')) {
        results.push(client.api(line.slice(4)));
        expected.push(reply.body ?? '');
      } else if (line.startsWith('bgapi ')) {
        const jobUuid = reply.headers['Job-UUID']!;
        const job = script.steps.flatMap((s) => s.replies).find((m) => isEvent(m) && m.body?.includes(jobUuid) && m.body.includes('BACKGROUND_JOB'));
        const p = client.bgapi(line.slice(6), { jobUuid }).then((r) => r.body, (err: Error) => `rejected: ${(err as { code?: string }).code}`);
        results.push(p);
        expected.push(job ? parseEventBody(job as { headers: Record<string, string>; body: string })!.body : 'rejected: ESL_DISCONNECTED');
      } else {
        results.push(client.command(line));
        expected.push(reply.headers['Reply-Text']);
      }
      await rep.served(i + 1);
    }
    if (!script.steps.at(-1)!.replies.some((m) => m.headers['Content-Type'] === 'text/disconnect-notice')) await client.close();
    expect(await Promise.all(results)).toEqual(expected);
    // Byte for byte; a recorded bgapi without its own Job-UUID line matches ours with the line removed.
    expect(rep.received.slice(0, script.steps.length).map((r, i) => (script.steps[i]!.raw.includes('Job-UUID') ? r : normalize(r)))).toEqual(script.steps.map((s) => s.raw));
    const recordedEvents = script.steps.flatMap((s) => s.replies).filter(isEvent);
    await until(() => events.length === recordedEvents.length);
    expect(events.map((e) => e.raw.name)).toEqual(recordedEvents.map((m) => parseEventBody(m as { headers: Record<string, string>; body: string })!.name));
    const hooks = events.filter((e) => e.type === 'ser::monitor');
    for (const h of hooks) {
      if (h.type !== 'ser::monitor') continue;
      expect(h.custom).toEqual({ ser_mode: 'monitor', ser_caller: '15551230001' });
      expect(h.uuid).toBe(h.raw.headers['Channel-Call-UUID']);
    }
    const notice = script.steps.flatMap((s) => s.replies).find((m) => m.headers['Content-Type'] === 'text/disconnect-notice');
    if (notice) await until(() => notices.length === 1).then(() => expect(notices[0]).toBe(notice.body));
  });

  it('00 esl-badpw: a refused password rejects start() with ESL_AUTH_FAILED after the disconnect notice', async () => {
    const script = connScripts(loadRecording('00-connect-auth.json')).find((s) => s.conn === 'esl-badpw')!;
    const rep = new Replayer(script);
    const port = await rep.listen();
    const client = new EslClient({ host: '127.0.0.1', port, password: 'WrongPassword', backoff: { initialMs: 60_000 } });
    cleanup.push(async () => {
      await client.close();
      await rep.close();
    });
    const notices: string[] = [];
    client.on('disconnect-notice', (b) => notices.push(b));
    await expect(client.start()).rejects.toMatchObject({ code: 'ESL_AUTH_FAILED' });
    expect(rep.received).toEqual(['auth WrongPassword\n\n']);
    expect(notices).toEqual(['Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n']);
  });
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

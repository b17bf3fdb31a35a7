import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AmiPriorityClient, connectAmiPriority } from '../../src/ami/priority.js';
import { SerError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { AmiTestServer } from './ami-server.js';

const SECRET = 's3cret-never-logged';

function captureLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(secretForClient = SECRET) {
  const server = await new AmiTestServer('ser', SECRET).listen();
  const { logger, lines } = captureLogger();
  const ami = new AmiPriorityClient({ host: '127.0.0.1', port: server.port, user: 'ser', secret: secretForClient, timeoutMs: 2000 }, logger, {
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
  });
  cleanups.push(() => server.close(), () => ami.close());
  return { server, ami, lines };
}

const call = { callId: '1795478407.20', channelName: 'PJSIP/100-00000001', queue: 'support' };

describe('AmiPriorityClient', () => {
  it('logs in with the configured user and secret, then sends QueueChangePriorityCaller with Immediate: yes', async () => {
    const { server, ami } = await setup();
    server.queues.set('support', new Set([call.channelName]));
    const res = await ami.setPriority(call, 7);
    expect(res).toEqual({ ok: true });
    const [login] = server.actions('login');
    expect(login).toMatchObject({ Username: 'ser', Secret: SECRET });
    const [sent] = server.actions('QueueChangePriorityCaller');
    expect(sent).toMatchObject({ Action: 'QueueChangePriorityCaller', Queue: 'support', Caller: call.channelName, Priority: '7', Immediate: 'yes' });
    expect(sent!.ActionID).toBeTruthy();
  });

  it('reports a caller that is no longer in the queue as AMI_ACTION_FAILED with Asterisk\'s message', async () => {
    const { server, ami } = await setup();
    server.queues.set('support', new Set());
    const res = await ami.setPriority(call, 3);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/^AMI_ACTION_FAILED: Unable to change priority caller on queue: No such caller/);
    expect(res.error).toContain('channel:PJSIP/100-00000001');
  });

  it('each of two concurrent changes gets its own answer, even when Asterisk answers out of order', async () => {
    const { server, ami } = await setup();
    server.queues.set('support', new Set(['PJSIP/a-1']));
    await ami.ready();
    server.swapPairs = true;
    const [a, b] = await Promise.all([
      ami.setPriority({ callId: 'a', channelName: 'PJSIP/a-1', queue: 'support' }, 1),
      ami.setPriority({ callId: 'b', channelName: 'PJSIP/b-2', queue: 'support' }, 2),
    ]);
    expect(a).toEqual({ ok: true });
    expect(b.ok).toBe(false);
    expect(b.error).toMatch(/No such caller/);
    const ids = server.actions('QueueChangePriorityCaller').map((m) => m.ActionID);
    expect(new Set(ids).size).toBe(2);
  });

  it('EXPECTED FAILURE: a wrong secret rejects ready() with AMI_AUTH_FAILED, and the secret appears in no log line', async () => {
    const { ami, lines } = await setup('wrong-secret-xyz');
    const err = await ami.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerError);
    expect((err as SerError).code).toBe('AMI_AUTH_FAILED');
    expect((err as SerError).message).toContain('user:ser');
    const res = await ami.setPriority(call, 1);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/^AMI_AUTH_FAILED/);
    const log = lines.join('');
    expect(log).toContain('AMI connection failed');
    expect(log).not.toContain('wrong-secret-xyz');
    expect(log).not.toContain(SECRET);
  });

  it('EXPECTED FAILURE: nothing listening gives AMI_UNREACHABLE', async () => {
    const server = await new AmiTestServer('ser', SECRET).listen();
    const port = server.port;
    await server.close();
    const { logger } = captureLogger();
    const ami = new AmiPriorityClient({ host: '127.0.0.1', port, user: 'ser', secret: SECRET, timeoutMs: 1000 }, logger, { reconnectMinMs: 50 });
    cleanups.push(() => ami.close());
    const res = await ami.setPriority(call, 1);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/^AMI_UNREACHABLE/);
  });

  it('reconnects after Asterisk drops the connection and the next change goes through', async () => {
    const { server, ami } = await setup();
    server.queues.set('support', new Set([call.channelName]));
    expect(await ami.setPriority(call, 1)).toEqual({ ok: true });
    server.dropClients();
    await expect.poll(() => server.actions('login').length, { timeout: 5000 }).toBe(2);
    await expect.poll(() => ami.connected, { timeout: 5000 }).toBe(true);
    expect(await ami.setPriority(call, 9)).toEqual({ ok: true });
    expect(server.actions('QueueChangePriorityCaller').map((m) => m.Priority)).toEqual(['1', '9']);
  });

  it('refuses a call with no queue without sending anything', async () => {
    const { server, ami } = await setup();
    await ami.ready();
    const res = await ami.setPriority({ ...call, queue: null }, 4);
    expect(res.ok).toBe(false);
    expect(server.actions('QueueChangePriorityCaller')).toHaveLength(0);
  });

  it('connectAmiPriority returns null when ami is not configured', () => {
    expect(connectAmiPriority(null, captureLogger().logger)).toBeNull();
  });
});

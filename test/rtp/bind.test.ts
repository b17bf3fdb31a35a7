import { afterEach, describe, expect, it } from 'vitest';
import { bindReceiverFromPool, type ReceiverLease } from '../../src/rtp/bind.js';
import { PortPool } from '../../src/rtp/port-pool.js';
import type { RtpReceiverOptions } from '../../src/rtp/receiver.js';
import { buildRtp, Cleanup, freePortRange, sendAll, udpSocket, until } from './support.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function options(heard: number[] = []): (port: number) => RtpReceiverOptions {
  return (port) => ({ host: '127.0.0.1', port, onAudio: (_s, n) => heard.push(n) });
}

function track(lease: ReceiverLease | null): ReceiverLease | null {
  if (lease) cleanup.add(() => lease.close());
  return lease;
}

describe('bindReceiverFromPool', () => {
  it('binds the next free port and the receiver hears RTP on it; close() returns the port to the pool', async () => {
    const base = await freePortRange(3);
    const pool = new PortPool(base, base + 2);
    const heard: number[] = [];
    const lease = track(await bindReceiverFromPool(pool, options(heard)))!;
    expect(lease.port).toBe(base);
    expect(lease.receiver.port).toBe(base);
    expect(pool.isHeld(base)).toBe(true);
    const s = await udpSocket(cleanup);
    await sendAll(s, base, [buildRtp({ seq: 1, ts: 160, ssrc: 1, payload: new Uint8Array(160).fill(0xff) })]);
    await until(() => heard.length > 0);
    expect(heard).toEqual([160]);
    await Promise.all([lease.close(), lease.close()]);
    expect(lease.receiver.closed).toBe(true);
    expect(pool).toMatchObject({ inUse: 0, free: 3 });
    // the socket really is gone: the port can be bound again
    await udpSocket(cleanup, '127.0.0.1', base);
  });

  it('falls through a port another socket holds (EADDRINUSE) to the next one, and puts the busy port last', async () => {
    const base = await freePortRange(3);
    await udpSocket(cleanup, '127.0.0.1', base); // someone else's socket
    const pool = new PortPool(base, base + 2);
    const busy: [number, string | undefined][] = [];
    const lease = track(await bindReceiverFromPool(pool, options(), { onPortBusy: (port, err) => busy.push([port, err.code]) }))!;
    expect(lease.port).toBe(base + 1);
    expect(busy).toEqual([[base, 'EADDRINUSE']]);
    expect(pool.isHeld(base)).toBe(false);
    expect(pool.inUse).toBe(1);
    // the busy port went to the back of the queue: base + 2 comes first
    expect(pool.acquire()).toBe(base + 2);
    expect(pool.acquire()).toBe(base);
  });

  it('resolves null after `attempts` busy ports, holding none of them', async () => {
    const base = await freePortRange(4);
    for (let p = base; p < base + 3; p++) await udpSocket(cleanup, '127.0.0.1', p);
    const pool = new PortPool(base, base + 3);
    const busy: number[] = [];
    const lease = await bindReceiverFromPool(pool, options(), { attempts: 3, onPortBusy: (port) => busy.push(port) });
    expect(lease).toBeNull();
    expect(busy).toEqual([base, base + 1, base + 2]);
    expect(pool).toMatchObject({ inUse: 0, free: 4 });
    // with one more attempt it reaches the free fourth port
    const next = track(await bindReceiverFromPool(pool, options(), { attempts: 4 }))!;
    expect(next.port).toBe(base + 3);
  });

  it('resolves null when the pool is exhausted', async () => {
    const base = await freePortRange(1);
    const pool = new PortPool(base, base);
    expect(track(await bindReceiverFromPool(pool, options()))).not.toBeNull();
    expect(await bindReceiverFromPool(pool, options())).toBeNull();
    expect(pool.inUse).toBe(1);
  });

  it('rejects with the socket error when the host is not a local address (no port would do), releasing the port', async () => {
    const base = await freePortRange(2);
    const pool = new PortPool(base, base + 1);
    const busy: number[] = [];
    await expect(
      bindReceiverFromPool(pool, (port) => ({ host: '192.0.2.1', port, onAudio: () => undefined }), { onPortBusy: (p) => busy.push(p) }),
    ).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    expect(busy).toEqual([]);
    expect(pool.inUse).toBe(0);
  });

  it('rejects with what makeOptions throws, releasing the port', async () => {
    const pool = new PortPool(40000, 40001);
    await expect(
      bindReceiverFromPool(pool, () => {
        throw new Error('no call for this port');
      }),
    ).rejects.toThrow('no call for this port');
    expect(pool.inUse).toBe(0);
  });
});

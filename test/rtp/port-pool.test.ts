import { describe, expect, it } from 'vitest';
import { parsePortRange, PortPool } from '../../src/rtp/port-pool.js';

describe('PortPool', () => {
  it('hands out every port once, then null', () => {
    const pool = new PortPool(40000, 40002);
    expect([pool.acquire(), pool.acquire(), pool.acquire()].sort()).toEqual([40000, 40001, 40002]);
    expect(pool.acquire()).toBeNull();
    expect(pool.inUse).toBe(3);
    expect(pool.free).toBe(0);
  });

  it('reuses a released port last, so late packets of the old call do not reach a new one', () => {
    const pool = new PortPool(40000, 40003);
    const first = pool.acquire()!;
    pool.release(first);
    const next = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(next).not.toContain(first);
    expect(pool.acquire()).toBe(first);
  });

  it('ignores a second release, and refuses a port outside its range', () => {
    const pool = new PortPool(40000, 40001);
    const p = pool.acquire()!;
    pool.release(p);
    pool.release(p);
    expect(pool.free).toBe(2);
    expect(() => pool.release(39999)).toThrow(RangeError);
  });

  it('parses ranges and rejects bad ones with the expected form in the message', () => {
    expect(parsePortRange('40000-40999')).toEqual({ min: 40000, max: 40999 });
    expect(() => parsePortRange('40999-40000')).toThrow(/40000-40999/);
    expect(() => parsePortRange('abc')).toThrow(/expected/);
  });
});

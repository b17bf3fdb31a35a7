import { describe, expect, it } from 'vitest';
import { parsePortRange, PortPool } from '../../src/rtp/port-pool.js';

describe('PortPool', () => {
  it('hands out every port of the range once, then null when exhausted', () => {
    const pool = new PortPool(40000, 40002);
    expect(pool.size).toBe(3);
    const got = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect([...got].sort()).toEqual([40000, 40001, 40002]);
    expect(pool.acquire()).toBeNull();
    expect(pool.acquire()).toBeNull();
    expect(pool).toMatchObject({ inUse: 3, free: 0, size: 3 });
  });

  it('makes a released port available again after exhaustion', () => {
    const pool = new PortPool(40000, 40001);
    const a = pool.acquire()!;
    pool.acquire();
    expect(pool.acquire()).toBeNull();
    pool.release(a);
    expect(pool).toMatchObject({ inUse: 1, free: 1 });
    expect(pool.isHeld(a)).toBe(false);
    expect(pool.acquire()).toBe(a);
    expect(pool.isHeld(a)).toBe(true);
  });

  it('does not reuse a just-released port while others are free: ports come back least recently released first', () => {
    const pool = new PortPool(40000, 40009);
    const held = Array.from({ length: 4 }, () => pool.acquire()!);
    pool.release(held[2]!);
    pool.release(held[0]!);
    // 6 never-used ports first, then the released ones in release order
    const next = Array.from({ length: 8 }, () => pool.acquire());
    expect(next.slice(0, 6)).not.toContain(held[2]);
    expect(next.slice(0, 6)).not.toContain(held[0]);
    expect(next.slice(6)).toEqual([held[2], held[0]]);
    expect(pool.acquire()).toBeNull();
  });

  it('keeps the accounting right through many random acquire/release rounds', () => {
    const pool = new PortPool(50000, 50015);
    const mine = new Set<number>();
    let seed = 99;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let i = 0; i < 5000; i++) {
      if (rand() < 0.55) {
        const p = pool.acquire();
        if (p === null) expect(mine.size).toBe(16);
        else {
          expect(mine.has(p)).toBe(false); // never handed out twice
          mine.add(p);
        }
      } else if (mine.size > 0) {
        const p = [...mine][Math.floor(rand() * mine.size)]!;
        mine.delete(p);
        pool.release(p);
      }
      expect(pool.inUse).toBe(mine.size);
      expect(pool.free).toBe(16 - mine.size);
    }
  });

  it('release() is idempotent: a second release of the same port changes nothing', () => {
    const pool = new PortPool(40000, 40001);
    const p = pool.acquire()!;
    pool.release(p);
    pool.release(p);
    expect(pool).toMatchObject({ free: 2, inUse: 0 });
    expect([pool.acquire(), pool.acquire(), pool.acquire()]).toEqual([40001, 40000, null]);
  });

  describe('BAD CALL', () => {
    it('release() of a port outside the range throws RangeError naming the range', () => {
      const pool = new PortPool(40000, 40001);
      expect(() => pool.release(39999)).toThrow(/39999.*40000-40001/);
      expect(() => pool.release(40002)).toThrow(RangeError);
      expect(() => pool.release(40000.5)).toThrow(RangeError);
    });

    it('an empty, inverted or out-of-bounds range is refused at construction', () => {
      expect(() => new PortPool(40001, 40000)).toThrow(RangeError);
      expect(() => new PortPool(0, 10)).toThrow(RangeError);
      expect(() => new PortPool(65000, 65536)).toThrow(RangeError);
      expect(() => new PortPool(1.5, 10)).toThrow(RangeError);
    });
  });
});

describe('parsePortRange', () => {
  it('parses MIN-MAX and a single port', () => {
    expect(parsePortRange('40000-40999')).toEqual({ min: 40000, max: 40999 });
    expect(parsePortRange(' 40000 - 40999 ')).toEqual({ min: 40000, max: 40999 });
    expect(parsePortRange('5004')).toEqual({ min: 5004, max: 5004 });
    expect(parsePortRange('1-65535')).toEqual({ min: 1, max: 65535 });
  });

  it('rejects bad input with the input and the expected form in the message', () => {
    for (const bad of ['', 'abc', '40999-40000', '0-10', '40000-70000', '40000-', '-40000', '4e4-5e4', '40000-40999-41000', '40000:40999']) {
      expect(() => parsePortRange(bad), bad).toThrow(RangeError);
      expect(() => parsePortRange(bad), bad).toThrow(/e\.g\. 40000-40999/);
      expect(() => parsePortRange(bad), bad).toThrow(JSON.stringify(bad));
    }
  });
});

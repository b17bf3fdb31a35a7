import { describe, expect, it } from 'vitest';
import { WaitingList } from '../../src/queue/order.js';

const ids = (l: WaitingList) => l.list().map((e) => e.callId);

describe('WaitingList', () => {
  it('serves higher priority first, then the longest waiting', () => {
    const l = new WaitingList();
    l.add('a', 0, 100);
    l.add('b', 5, 300);
    l.add('c', 0, 50);
    l.add('d', 5, 200);
    expect(ids(l)).toEqual(['d', 'b', 'c', 'a']);
    expect(l.shift()?.callId).toBe('d');
    expect(l.positionOf('a')).toBe(3);
    expect(l.positionOf('d')).toBe(0);
  });

  it('keeps arrival order for callers enqueued in the same millisecond with the same priority', () => {
    const l = new WaitingList();
    for (const id of ['a', 'b', 'c', 'd', 'e']) l.add(id, 1, 1000);
    expect(ids(l)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('moves a caller at once when its priority is raised, and back when lowered', () => {
    const l = new WaitingList();
    l.add('a', 0, 1);
    l.add('b', 0, 2);
    l.add('c', 0, 3);
    expect(l.setPriority('c', 10)).toBe(10);
    expect(ids(l)).toEqual(['c', 'a', 'b']);
    l.setPriority('c', 0);
    expect(ids(l)).toEqual(['a', 'b', 'c']);
  });

  it('reports undefined for a priority change of a caller that is not waiting', () => {
    const l = new WaitingList();
    expect(l.setPriority('ghost', 3)).toBeUndefined();
    expect(l.size).toBe(0);
  });

  it('a caller put back after a failed connection returns to its old place, ahead of later callers', () => {
    const l = new WaitingList();
    l.add('a', 0, 1);
    l.add('b', 0, 2);
    const a = l.shift()!;
    l.add('c', 0, 3);
    l.restore(a);
    expect(ids(l)).toEqual(['a', 'b', 'c']);
  });

  it('adding a caller twice keeps one entry and its place', () => {
    const l = new WaitingList();
    l.add('a', 0, 1);
    l.add('b', 0, 2);
    l.add('a', 9, 3);
    expect(ids(l)).toEqual(['a', 'b']);
    expect(l.get('a')?.priority).toBe(0);
  });

  it('changes() reports only callers whose position or priority moved since the last report', () => {
    const l = new WaitingList();
    l.add('a', 0, 1);
    l.add('b', 0, 2);
    expect(l.changes()).toEqual([
      { callId: 'a', position: 1, priority: 0 },
      { callId: 'b', position: 2, priority: 0 },
    ]);
    expect(l.changes()).toEqual([]);
    l.add('c', 0, 3);
    expect(l.changes()).toEqual([{ callId: 'c', position: 3, priority: 0 }]);
    l.setPriority('c', 4);
    expect(l.changes()).toEqual([
      { callId: 'c', position: 1, priority: 4 },
      { callId: 'a', position: 2, priority: 0 },
      { callId: 'b', position: 3, priority: 0 },
    ]);
    l.remove('c');
    expect(l.changes()).toEqual([
      { callId: 'a', position: 1, priority: 0 },
      { callId: 'b', position: 2, priority: 0 },
    ]);
  });

  it('keeps order under many random operations (matches a sort of the same entries)', () => {
    const l = new WaitingList();
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const live = new Map<string, { p: number; t: number; i: number }>();
    for (let i = 0; i < 500; i++) {
      const op = rnd(3);
      const id = `c${rnd(40)}`;
      if (op === 0 && !live.has(id)) {
        const t = rnd(20);
        l.add(id, rnd(4), t);
        live.set(id, { p: l.get(id)!.priority, t, i });
      } else if (op === 1) {
        if (l.remove(id)) live.delete(id);
      } else if (live.has(id)) {
        const p = rnd(4);
        l.setPriority(id, p);
        live.get(id)!.p = p;
      }
    }
    const expected = [...live.entries()].sort(([, x], [, y]) => y.p - x.p || x.t - y.t || x.i - y.i).map(([id]) => id);
    expect(ids(l)).toEqual(expected);
  });
});

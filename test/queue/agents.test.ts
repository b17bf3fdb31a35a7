import { describe, expect, it } from 'vitest';
import { AgentPool } from '../../src/queue/agents.js';

describe('AgentPool', () => {
  it('picks the longest-idle agent; config order breaks ties', () => {
    const p = new AgentPool(['A', 'B', 'C'], { now: 0, retryMs: 0 });
    expect(p.pick(1)).toBe('A');
    p.ringing('A');
    p.answered('A');
    expect(p.pick(1)).toBe('B');
    p.release('A', 10);
    p.ringing('B');
    p.answered('B');
    p.release('B', 20);
    // C has been idle since 0, A since 10, B since 20
    expect(p.pick(30)).toBe('C');
    p.ringing('C');
    expect(p.pick(30)).toBe('A');
  });

  it('never picks an agent that is ringing, busy or offline', () => {
    const p = new AgentPool(['A', 'B', 'C'], { now: 0, retryMs: 0 });
    p.ringing('A');
    p.ringing('B');
    p.answered('B');
    p.setReachable('C', false);
    expect(p.state('A')).toBe('ringing');
    expect(p.state('B')).toBe('busy');
    expect(p.state('C')).toBe('offline');
    expect(p.pick(5)).toBeUndefined();
    p.setReachable('C', true);
    expect(p.pick(5)).toBe('C');
  });

  it('an agent that does not answer goes to the back of the line and rests before the next ring', () => {
    const p = new AgentPool(['A', 'B'], { now: 0, retryMs: 1000 });
    p.ringing('A');
    p.ringFailed('A', 'no-answer', 100);
    expect(p.pick(100)).toBe('B');
    p.ringing('B');
    p.ringFailed('B', 'busy', 200);
    expect(p.pick(500)).toBeUndefined();
    expect(p.nextRestEnd(500)).toBe(1100);
    expect(p.pick(1100)).toBe('A');
  });

  it('a cancelled ring costs the agent neither its place nor a rest', () => {
    const p = new AgentPool(['A', 'B'], { now: 0, retryMs: 1000 });
    p.ringing('A');
    p.ringFailed('A', 'cancelled', 100);
    expect(p.pick(100)).toBe('A');
    expect(p.nextRestEnd(100)).toBeUndefined();
  });

  it('an agent going offline while busy stays busy until released, then shows offline', () => {
    const p = new AgentPool(['A'], { now: 0, retryMs: 0 });
    p.ringing('A');
    p.answered('A');
    p.setReachable('A', false);
    expect(p.state('A')).toBe('busy');
    p.release('A', 10);
    expect(p.state('A')).toBe('offline');
    expect(p.pick(10)).toBeUndefined();
  });

  it('rejects transitions that would double-book an agent', () => {
    const p = new AgentPool(['A'], { now: 0, retryMs: 0 });
    p.ringing('A');
    expect(() => p.ringing('A')).toThrow(/agent is ringing, expected idle/);
    p.answered('A');
    expect(() => p.answered('A')).toThrow(/agent is busy, expected ringing/);
    expect(() => p.ringing('X')).toThrow(/unknown agent/);
  });
});

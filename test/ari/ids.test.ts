import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOwnChannel, ownArgs, ownId, parseOwnId } from '../../src/ari/ids.js';
import { ASTERISK } from '../helpers/paths.js';

describe('own object ids', () => {
  it('round-trip kind and call id, for Asterisk-style ids with dots', () => {
    const id = ownId('snoop', '1795478359.0');
    expect(parseOwnId(id)).toEqual({ kind: 'snoop', callId: '1795478359.0' });
    expect(ownId('em', 'x')).not.toBe(ownId('em', 'x'));
    expect(parseOwnId(ownId('bridge', 'ser-odd-id'))).toEqual({ kind: 'bridge', callId: 'ser-odd-id' });
  });

  it("does not claim the ;2 half of a Local channel we originated: it lives and dies with its ;1 (a real Asterisk names it <id>;2)", () => {
    const agent = ownId('qagent', 'support');
    expect(parseOwnId(agent)).toEqual({ kind: 'qagent', callId: 'support' });
    expect(parseOwnId(`${agent};2`)).toBeNull();
    expect(parseOwnId(`${ownId('agent', '1795478359.0')};2`)).toBeNull();
  });

  it('does not claim channels and bridges Asterisk or others created', () => {
    const steps = JSON.parse(readFileSync(join(ASTERISK, 'recorded/05-bridge-agent-moh-ring.json'), 'utf8')) as Array<{ dir: string; body: { type?: string; channel?: { id: string }; bridge?: { id: string } } }>;
    const ids = new Set<string>();
    for (const s of steps) {
      if (s.dir !== 'event') continue;
      if (s.body.channel) ids.add(s.body.channel.id);
      if (s.body.bridge) ids.add(s.body.bridge.id);
    }
    expect(ids.size).toBeGreaterThan(3);
    for (const id of ids) expect(parseOwnId(id)).toBeNull();
  });

  it('recognises our own channels entering Stasis by args or by id, and never a caller', () => {
    const args = ownArgs('em', '1795478359.0').split(',');
    expect(isOwnChannel('1795478359.3', args)).toBe(true); // externalMedia with an Asterisk-chosen id
    expect(isOwnChannel(ownId('snoop', 'c'), [])).toBe(true);
    expect(isOwnChannel('1795478359.0', ['monitor'])).toBe(false);
    expect(isOwnChannel('1795478359.0', ['queue', 'support'])).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import { CallHistory } from '../../src/console/history.js';
import { EventBus } from '../../src/events/bus.js';
import { EMPTY_SUMMARY, addCall } from './support.js';

describe('CallHistory', () => {
  it('issue 13: events published after a call ended (alert cleared, action cancelled) do not bring it back', () => {
    const bus = new EventBus();
    const registry = new CallRegistry(bus);
    const history = new CallHistory(bus, 300, (id) => registry.get(id) !== undefined);
    for (let i = 0; i < 2000; i++) {
      const callId = `c${i}`;
      addCall(registry, callId);
      bus.publish({ type: 'alert', callId, state: 'raised', rule: 'abuse', message: 'abusive' });
      expect(history.activeAlerts(callId)).toHaveLength(1);
      registry.remove(callId, 'hangup', EMPTY_SUMMARY);
      // What the rule engine publishes as it lets go of an ended call.
      bus.publish({ type: 'alert', callId, state: 'cleared', rule: 'abuse', message: 'call ended' });
      bus.publish({ type: 'action', callId, actionId: `a${i}`, rule: 'abuse', kind: 'hangup', params: {}, outcome: 'cancelled', reason: 'call ended', dueAt: null, shadow: false, evidence: [] });
    }
    expect(history.size).toBe(0);
    history.close();
  });

  it('keeps the recent past of a live call and forgets it when the call ends', () => {
    const bus = new EventBus();
    const registry = new CallRegistry(bus);
    const history = new CallHistory(bus, 300, (id) => registry.get(id) !== undefined);
    addCall(registry, 'c1');
    bus.publish({ type: 'alert', callId: 'c1', state: 'raised', rule: 'r', message: 'm' });
    expect(history.view('c1').alerts).toHaveLength(1);
    registry.remove('c1', 'hangup', EMPTY_SUMMARY);
    expect(history.view('c1').alerts).toHaveLength(0);
    history.close();
  });
});

import { describe, expect, it } from 'vitest';
import { ownId } from '../../src/ari/ids.js';
import { planReconcile } from '../../src/ari/reconcile.js';

function tapOf(callId: string): { snoop: string; em: string; bridge: string } {
  return { snoop: ownId('snoop', callId), em: ownId('em', callId), bridge: ownId('bridge', callId) };
}

describe('planReconcile', () => {
  it('keeps a healthy tapped call and touches nothing else', () => {
    const t = tapOf('100.1');
    const plan = planReconcile(['100.1', '100.2', t.snoop, t.em], [t.bridge, 'someone-elses-bridge'], [{ callId: '100.1', objects: [t.snoop, t.em, t.bridge] }], new Set([t.snoop, t.em, t.bridge]));
    expect(plan).toEqual({ deleteChannels: [], deleteBridges: [], lost: [], broken: [], adopt: [] });
  });

  it('ends calls whose caller vanished (Asterisk restarted: nothing listed) and deletes nothing that is not there', () => {
    const t = tapOf('100.1');
    const plan = planReconcile([], [], [{ callId: '100.1', objects: [t.snoop, t.em, t.bridge] }], new Set([t.snoop, t.em, t.bridge]));
    expect(plan.lost).toEqual(['100.1']);
    expect(plan.deleteChannels).toEqual([]);
    expect(plan.deleteBridges).toEqual([]);
  });

  it('rebuilds a tap that lost an object while the caller is still up', () => {
    const t = tapOf('100.1');
    const plan = planReconcile(['100.1', t.em], [t.bridge], [{ callId: '100.1', objects: [t.snoop, t.em, t.bridge] }], new Set([t.snoop, t.em, t.bridge]));
    expect(plan.broken).toEqual(['100.1']);
    expect(plan.lost).toEqual([]);
  });

  it('removes the leftovers of a hung-up caller (externalMedia and bridge stay on Asterisk) and adopts a caller still up', () => {
    const gone = tapOf('200.1');
    const alive = tapOf('300.1');
    const plan = planReconcile(['300.1', gone.em, alive.snoop, alive.em, 'PJSIP-unrelated'], [gone.bridge, alive.bridge], [], new Set());
    expect(plan.deleteChannels.sort()).toEqual([gone.em, alive.snoop, alive.em].sort());
    expect(plan.deleteBridges.sort()).toEqual([gone.bridge, alive.bridge].sort());
    expect(plan.adopt).toEqual(['300.1']);
  });

  it('leaves objects being built right now (registered live before their response) alone', () => {
    const t = tapOf('100.1');
    const plan = planReconcile(['100.1', t.snoop], [], [{ callId: '100.1', objects: [] }], new Set([t.snoop, t.em, t.bridge]));
    expect(plan.deleteChannels).toEqual([]);
    expect(plan.broken).toEqual([]);
  });

  it("never hangs up the ;2 half of a live Local agent leg (issue 12: a real Asterisk lists Local/...;2 as <id>;2)", () => {
    const leg = ownId('agent', '100.1');
    const plan = planReconcile(['100.1', leg, `${leg};2`], [], [{ callId: '100.1', objects: [] }], new Set([leg]));
    expect(plan.deleteChannels).toEqual([]);
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ActionEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import { parseRules, RuleEngine } from '../../src/policy/index.js';
import { until, useAriWorlds, type World } from '../ari/helpers.js';

/**
 * The warning before a hang-up must really have played (recording 11: Asterisk answers 201 "queued"
 * for a missing sound and reports the failure only in PlaybackFinished), on the simulator taught that.
 */
describe('a warning counts only once Asterisk confirms it played', () => {
  const fixture = useAriWorlds();

  async function tappedCaller(w: World, stasisArgs: string[]): Promise<string> {
    const callId = await w.sim.placeCall({ stasisArgs });
    await until(() => w.taps(callId).some((t) => t.state === 'tapped'), 10_000, 'tapped');
    return callId;
  }

  /** Event types the simulator sent, in order, so a test can tell what happened before a promise settled. */
  function sent(w: World): string[] {
    const types: string[] = [];
    w.sim.on('event', (_app, e) => {
      const ev = e as { type: string; playback?: { state: string } };
      types.push(ev.playback ? `${ev.type}:${ev.playback.state}` : ev.type);
    });
    return types;
  }

  it('play resolves ok after PlaybackFinished done, and fails for a missing sound, in Stasis and by whisper outside it', async () => {
    const w = await fixture.world({ ports: [47620, 47629], sim: { soundDurationMs: 200 }, queueHandler: { admit: async () => undefined, onCallEnded: () => undefined } });
    const inStasis = await tappedCaller(w, ['queue', 'support']);
    const outside = await tappedCaller(w, ['monitor']);
    const types = sent(w);
    for (const callId of [inStasis, outside]) {
      types.length = 0;
      expect(await w.app.control.play(callId, 'sound:ser-abuse-warning')).toEqual({ ok: true });
      expect(types).toContain('PlaybackFinished:done');
      const missing = await w.app.control.play(callId, 'sound:no-such-warning');
      expect(missing.ok).toBe(false);
      expect(missing.error).toContain('could not play sound:no-such-warning (PlaybackFinished state failed');
    }
    expect(w.leftovers().channels).toHaveLength(4); // the two taps only: no whisper snoop left
  });

  it('a hang-up whose warning is missing is never executed: a failed precondition the supervisor sees, and the caller stays', async () => {
    const w = await fixture.world({ ports: [47630, 47639] });
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const engine = new RuleEngine({
      rules: parseRules({ rules: [] }),
      control: w.app.control,
      registry: w.registry,
      bus: w.bus,
      logger: createLogger('info', sink),
    });
    try {
      const callId = await tappedCaller(w, ['monitor']);
      const result = await engine.force(callId, { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-missing-prompt', graceSeconds: 5 } }, 'alice');
      expect(result.ok).toBe(false);
      const actions = w.events.filter((e): e is ActionEvent => e.type === 'action' && e.callId === callId);
      expect(actions.map((a) => a.outcome)).toEqual(['proposed', 'pending', 'failed']);
      expect(actions[2]!.reason).toMatch(/^precondition failed: the warning was not confirmed played \(Asterisk could not play sound:ser-missing-prompt/);
      expect(engine.pending()).toEqual([]);
      expect(w.sim.channel(callId)!.hungUp).toBe(false);
    } finally {
      engine.close();
    }
  });
});

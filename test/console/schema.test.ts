import { afterEach, describe, expect, it } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import { EmotionTracker } from '../../src/emotion/tracker.js';
import { EventBus } from '../../src/events/bus.js';
import { emotionEventInput } from '../../src/events/from-tracker.js';
import type { EmotionEvent, SerEvent, SerEventInput, SerEventType } from '../../src/events/types.js';
import type { ActionControl, PendingAction } from '../../src/policy/control.js';
import { SCHEMA, errorsOf, validator } from './schema.js';
import { EMPTY_SUMMARY, addCall, probs, world, wsClient, type World } from './support.js';

const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];

// Compile-time exhaustive: adding an event type to src/events/types.ts without listing it here fails tsc.
const EVENT_TYPES: Record<SerEventType, true> = {
  'call.started': true,
  'call.ended': true,
  'call.phase': true,
  tap: true,
  emotion: true,
  alert: true,
  action: true,
  'queue.position': true,
};

const evidence = [{ t: 12, probs: probs('ANG', 0.8), negativity: 0.9, loudnessDbfs: -18.5, speechRatio: 0.8 }];

/** One input per event type, as their producers would publish them (every optional-looking field set both ways). */
const SYNTHETIC: SerEventInput[] = [
  { type: 'call.started', callId: 'c1', channelName: 'PJSIP/100-0001', callerNumber: '+4930123', callerName: 'Ada', mode: 'queue', phase: 'queued', queue: 'support', context: 'from-pstn' },
  { type: 'call.phase', callId: 'c1', phase: 'agent', queue: 'support', agent: 'PJSIP/agent1' },
  { type: 'tap', callId: 'c1', state: 'retrying', reason: 'no RTP within 2 s', attempt: 2 },
  { type: 'tap', callId: 'c1', state: 'tapped', reason: null, attempt: 1 },
  { type: 'alert', callId: 'c1', state: 'raised', rule: 'angry-caller', message: 'anger above 0.6 for 5 s' },
  { type: 'alert', callId: 'c1', state: 'cleared', rule: 'angry-caller', message: 'condition cleared' },
  { type: 'action', callId: 'c1', actionId: 'a1', rule: 'abuse', kind: 'hangup', params: { cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 10 } }, outcome: 'pending', reason: 'warning played', dueAt: new Date().toISOString(), shadow: false, evidence },
  { type: 'action', callId: 'c1', actionId: 'a1', rule: 'abuse', kind: 'hangup', params: {}, outcome: 'cancelled', reason: 'cancelled by console', dueAt: null, shadow: false, evidence: [] },
  { type: 'action', callId: 'c1', actionId: 'a2', rule: 'distress', kind: 'priority', params: { add: 5 }, outcome: 'shadow', reason: null, dueAt: null, shadow: true, evidence },
  { type: 'queue.position', callId: 'c1', queue: 'support', position: 1, priority: 10, waiting: 3 },
  {
    type: 'call.ended',
    callId: 'c1',
    reason: 'caller hung up',
    summary: { durationSeconds: 61.2, windows: 59, classified: 40, meanProbs: probs('NEU', 0.5), dominant: 'NEU', peakNegativity: 0.71, actionsExecuted: 1, rtp: { packets: 3050, lost: 2, late: 0, duplicate: 1, foreignSource: 0, badPayloadType: 0, malformed: 0 } },
  },
];

function eventRefs(): string[] {
  return SCHEMA.$defs.event!.oneOf!.map((r) => r.$ref.replace('#/$defs/', ''));
}

describe('docs/events.schema.json', () => {
  const validateEvent = validator('event');
  const validateMessage = validator();
  let w: World | null = null;
  afterEach(async () => {
    await w?.server.close();
    w = null;
  });

  it('has one definition per event type, and the same types as src/events/types.ts', () => {
    expect(eventRefs().sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    for (const type of eventRefs()) {
      const def = SCHEMA.$defs[type] as { additionalProperties?: boolean; properties: { type: { const: string } } };
      expect(def.additionalProperties).toBe(false);
      expect(def.properties.type.const).toBe(type);
    }
  });

  it('accepts what the CallRegistry publishes: call.started, call.phase and call.ended', () => {
    const bus = new EventBus();
    const seen: SerEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const registry = new CallRegistry(bus);
    registry.add({ callId: 'r1', channelName: 'PJSIP/200-0001', callerNumber: null, callerName: null, mode: 'monitor', phase: 'ivr' });
    registry.add({ callId: 'r2', channelName: 'PJSIP/201-0002', callerNumber: '201', callerName: 'Bob', mode: 'queue', phase: 'queued', queue: 'sales', context: 'default' });
    registry.update('r1', { phase: 'queued', queue: 'support' });
    registry.update('r1', { phase: 'agent', agent: 'PJSIP/agent7' });
    registry.remove('r1', 'caller hung up', EMPTY_SUMMARY);
    registry.remove('r2', 'transferred', (SYNTHETIC.at(-1) as Extract<SerEventInput, { type: 'call.ended' }>).summary);
    expect(seen.map((e) => e.type)).toEqual(['call.started', 'call.started', 'call.phase', 'call.phase', 'call.ended', 'call.ended']);
    for (const e of seen) expect(errorsOf(validateEvent, e), e.type).toBe('');
  });

  it('accepts the emotion events derived from a real EmotionTracker, with and without speech', () => {
    const bus = new EventBus();
    const seen: SerEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const tracker = new EmotionTracker('e1', LABELS, 0.5);
    tracker.on('emotion', (u) => bus.publish(emotionEventInput(u)));
    const window = (end: number, p: number[] | null, dbfs = -21.3) =>
      tracker.observe({ start: end - 3, end, speechRatio: p ? 0.8 : 0.05, dbfs, probs: p ? Float32Array.from(p) : null, completedAt: performance.now() });
    window(3, null, -90);
    window(4, [0.62, 0.08, 0.1, 0.05, 0.1, 0.05]);
    window(5, [0.2, 0.1, 0.1, 0.1, 0.4, 0.1]);
    expect(seen).toHaveLength(3);
    for (const e of seen) expect(errorsOf(validateEvent, e)).toBe('');
    const last = seen[2] as Extract<SerEvent, { type: 'emotion' }>;
    expect(Object.keys(last.probs).sort()).toEqual([...LABELS].sort());
    expect(last.seq).toBe(3);
  });

  it('accepts a synthetic event of every type published through the real bus', () => {
    const bus = new EventBus();
    const seen: SerEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    for (const input of SYNTHETIC) bus.publish(input);
    expect(new Set(seen.map((e) => e.type))).toEqual(new Set(Object.keys(EVENT_TYPES).filter((t) => t !== 'emotion')));
    for (const e of seen) expect(errorsOf(validateEvent, e), e.type).toBe('');
  });

  it('rejects events that break the contract: unknown field, missing field, wrong version, probability above 1', () => {
    const bus = new EventBus();
    const good = bus.publish(SYNTHETIC[0]!);
    expect(validateEvent(good)).toBe(true);
    expect(validateEvent({ ...good, extra: 1 })).toBe(false);
    const { channelName: _, ...missing } = good as Extract<SerEvent, { type: 'call.started' }>;
    expect(validateEvent(missing)).toBe(false);
    expect(validateEvent({ ...good, version: 1 })).toBe(false);
    expect(validateEvent({ ...good, ts: 'yesterday' })).toBe(false);
    const tracker = new EmotionTracker('x', LABELS, 1);
    const emotion = bus.publish(emotionEventInput(tracker.observe({ start: 0, end: 3, speechRatio: 1, dbfs: -20, probs: Float32Array.from([0.5, 0.1, 0.1, 0.1, 0.1, 0.1]), completedAt: performance.now() }))) as EmotionEvent;
    expect(validateEvent(emotion)).toBe(true);
    expect(validateEvent({ ...emotion, probs: { ...emotion.probs, ANG: 1.2 } })).toBe(false);
    expect(validateEvent({ ...emotion, type: 'emotions' })).toBe(false);
  });

  it('accepts the hello snapshot a consumer gets on connect: live calls, last emotion, alerts and pending actions', async () => {
    const pending: PendingAction[] = [
      { actionId: 'p1', callId: 'h1', rule: 'abuse', action: { kind: 'hangup', cause: 'normal', warn: { media: 'sound:ser-warning', graceSeconds: 10 } }, dueAt: new Date(Date.now() + 10_000).toISOString(), evidence },
    ];
    const actions: ActionControl = { pending: (id) => pending.filter((p) => !id || p.callId === id), cancel: () => false, force: async () => ({ ok: true }) };
    w = await world({ actions });
    addCall(w.registry, 'h1', { queue: 'support' });
    addCall(w.registry, 'h2');
    const tracker = new EmotionTracker('h1', LABELS, 1);
    const emotion = w.bus.publish(emotionEventInput(tracker.observe({ start: 0, end: 3, speechRatio: 1, dbfs: -20, probs: Float32Array.from([0.7, 0.1, 0.05, 0.05, 0.05, 0.05]), completedAt: performance.now() })));
    w.registry.update('h1', { lastEmotion: emotion as Extract<SerEvent, { type: 'emotion' }>, tapped: true, priority: 5 });
    w.bus.publish({ type: 'alert', callId: 'h1', state: 'raised', rule: 'angry', message: 'anger above 0.6' });

    const client = await wsClient(w.server.url);
    const hello = await client.next((m) => m.type === 'hello', 'hello');
    expect(errorsOf(validateMessage, hello)).toBe('');
    expect(errorsOf(validator('hello'), hello)).toBe('');
    const calls = hello.calls as { callId: string; pending: unknown[]; alerts: { rule: string }[]; lastEmotion: unknown }[];
    expect(calls.map((c) => c.callId).sort()).toEqual(['h1', 'h2']);
    const h1 = calls.find((c) => c.callId === 'h1')!;
    expect(h1.pending).toHaveLength(1);
    expect(h1.alerts.map((a) => a.rule)).toEqual(['angry']);
    expect(h1.lastEmotion).toMatchObject({ type: 'emotion', seq: 1 });
    client.close();
  });
});

import { Writable } from 'node:stream';
import { vi } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import type { EmotionUpdate } from '../../src/emotion/tracker.js';
import { EventBus } from '../../src/events/bus.js';
import type { ActionEvent, AlertEvent, CallPhase, SerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log/logger.js';
import type { CallControl, PbxResult } from '../../src/pbx/types.js';
import { RuleEngine } from '../../src/policy/engine.js';
import { parseRules } from '../../src/policy/load-rules.js';

export const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'] as const;
type Label = (typeof LABELS)[number];
export type Scores = Partial<Record<Label, number>>;

/** A CallControl that records every request, in order, and answers from `results` (default ok). */
export class RecordingControl implements CallControl {
  readonly calls: { op: string; callId: string; arg: unknown; at: number }[] = [];
  /** Per operation: what to answer; a function may delay (return a pending promise). */
  readonly results: Partial<Record<string, () => Promise<PbxResult>>> = {};

  #record(op: string, callId: string, arg: unknown): Promise<PbxResult> {
    this.calls.push({ op, callId, arg, at: Date.now() });
    return this.results[op]?.() ?? Promise.resolve({ ok: true });
  }
  setVariables(callId: string, vars: Record<string, string>) { return this.#record('setVariables', callId, vars); }
  setPriority(callId: string, change: unknown) { return this.#record('setPriority', callId, change); }
  transfer(callId: string, target: unknown) { return this.#record('transfer', callId, target); }
  play(callId: string, media: string) { return this.#record('play', callId, media); }
  hangup(callId: string, cause: string) { return this.#record('hangup', callId, cause); }
  ops(op?: string): string[] {
    return this.calls.filter((c) => op === undefined || c.op === op).map((c) => `${c.op}:${c.callId}`);
  }
}

export interface World {
  engine: RuleEngine;
  control: RecordingControl;
  registry: CallRegistry;
  bus: EventBus;
  events: SerEvent[];
  logs: Record<string, unknown>[];
  actions(outcome?: ActionEvent['outcome']): ActionEvent[];
  alerts(): AlertEvent[];
  addCall(callId: string, phase: CallPhase, extra?: { queue?: string; context?: string }): void;
  /** Plays one scripted second per entry for a call: advances the clock 1 s, then delivers the update. */
  play(callId: string, steps: Step[]): Promise<void>;
  /** Advances time (firing grace timers) and lets PBX promises settle. */
  wait(ms: number): Promise<void>;
}

/** One second of a call: scores (the rest of the mass goes to NEU), silence, or a missing update. */
export type Step = Scores | 'silent' | 'missing';

/** Familiarity the synthetic updates carry (tests of familiarity-gated rules change it). */
export const FAMILIARITY = { value: 0.5 };

export function update(callId: string, seq: number, end: number, scores: Scores | null, classified: number): EmotionUpdate {
  const probs: Record<string, number> = { ANG: 0, DIS: 0, FEA: 0, HAP: 0, NEU: 0, SAD: 0, ...scores };
  const rest = 1 - Object.entries(probs).reduce((s, [k, v]) => (k === 'NEU' ? s : s + v), 0);
  if (scores?.NEU === undefined) probs.NEU = Math.max(0, rest);
  let dominant = 'NEU';
  for (const l of LABELS) if (probs[l]! > probs[dominant]!) dominant = l;
  return {
    callId,
    seq,
    start: end - 3,
    end,
    speech: scores !== null,
    speechRatio: scores !== null ? 0.8 : 0.05,
    loudnessDbfs: scores !== null ? -22 : -60,
    probs,
    raw: scores !== null ? probs : null,
    dominant,
    confidence: probs[dominant]!,
    negativity: probs.ANG! + probs.DIS! + probs.FEA! + probs.SAD!,
    arousal: probs.ANG! + probs.FEA! + probs.HAP!,
    adjusted: probs,
    adjustedNegativity: probs.ANG! + probs.DIS! + probs.FEA! + probs.SAD!,
    baselineWindows: classified,
    baselineNegativity: Number.NaN,
    // A familiar voice unless a step says otherwise (scores.familiarity is not a label).
    familiarity: FAMILIARITY.value,
    classified,
    latencyMs: 5,
  };
}

/** A rules file with every safety default relaxed unless the test sets it, so each test isolates one mechanism. */
export function world(doc: Record<string, unknown>): World {
  const bus = new EventBus();
  const events: SerEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const registry = new CallRegistry(bus);
  const control = new RecordingControl();
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger('info', sink);
  const engine = new RuleEngine({ rules: parseRules(doc), control, registry, bus, logger });
  const perCall = new Map<string, { seq: number; end: number; classified: number }>();
  return {
    engine,
    control,
    registry,
    bus,
    events,
    logs,
    actions: (outcome) => events.filter((e): e is ActionEvent => e.type === 'action' && (outcome === undefined || e.outcome === outcome)),
    alerts: () => events.filter((e): e is AlertEvent => e.type === 'alert'),
    addCall(callId, phase, extra = {}) {
      registry.add({ callId, channelName: `PJSIP/${callId}`, callerNumber: null, callerName: null, mode: 'monitor', phase, ...extra });
    },
    async play(callId, steps) {
      for (const step of steps) {
        await vi.advanceTimersByTimeAsync(1000);
        const c = perCall.get(callId) ?? { seq: 0, end: 3, classified: 0 };
        c.end += 1;
        perCall.set(callId, c);
        if (step === 'missing') continue;
        const scores = step === 'silent' ? null : step;
        if (scores) c.classified++;
        engine.observe(update(callId, ++c.seq, c.end, scores, c.classified));
      }
      await vi.advanceTimersByTimeAsync(0);
    },
    async wait(ms) {
      await vi.advanceTimersByTimeAsync(ms);
    },
  };
}

export const repeat = <T>(n: number, step: T): T[] => Array.from({ length: n }, () => step);

export const ANGRY: Scores = { ANG: 0.8, DIS: 0.1 };
export const CALM: Scores = { NEU: 0.8, HAP: 0.1 };
export const DISTRESSED: Scores = { FEA: 0.45, SAD: 0.45 };

import { randomUUID } from 'node:crypto';
import type { CallRecord, CallRegistry } from '../calls/registry.js';
import type { EmotionUpdate } from '../emotion/tracker.js';
import type { EventBus } from '../events/bus.js';
import type { ActionOutcome, EvidencePoint } from '../events/types.js';
import type { Logger } from '../log/logger.js';
import type { CallControl, PbxResult } from '../pbx/types.js';
import { describeAction, paramsOf, perform } from './actions.js';
import { describe as describeCondition, evaluate, initialState, signalsOf } from './condition.js';
import type { ActionControl, ActionSpec, PendingAction } from './control.js';
import { EvidenceRing } from './evidence.js';
import { TokenBucket } from './rate-limit.js';
import type { Rule, RuleSet } from './rules-schema.js';

/** Time source and timers; the default is the process's (which vitest's fake timers replace). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RuleEngineOptions {
  rules: RuleSet;
  control: CallControl;
  registry: CallRegistry;
  bus: EventBus;
  logger: Logger;
  clock?: Clock;
  /** Seconds between a call's updates (the model card's hop): how much speech one update stands for. */
  hopSeconds?: number;
}

/** Evidence starts this many seconds before the episode, so the audit shows the rise too. */
const EVIDENCE_LEAD_SECONDS = 3;

/**
 * One rule on one call. An *episode* runs from the first speech update on which the condition holds
 * to the update on which it clears (hysteresis). A rule fires at most once per episode: it is
 * disarmed when it fires and re-armed only when the condition clears.
 */
interface RuleState {
  leaves: boolean[];
  /** Speech updates the condition has held on, this episode. */
  held: number;
  /** Audio time (update.end) of the episode's first update. */
  since: number;
  raised: boolean;
  fired: boolean;
  /** Last suppression published this episode: the same one is not repeated every second. */
  suppressed: string | null;
  lastFiredAt: number | null;
  fires: number;
}

interface CallState {
  evidence: EvidenceRing;
  rules: RuleState[];
  last: EmotionUpdate | null;
  lastAt: number;
  /** Real actions started on this call (shadow ones are not counted). */
  actions: number;
}

interface Pending extends PendingAction {
  ruleIndex: number | null;
  timer: unknown;
  /** Audio time of the last update before the warning: windows starting after it are post-warning. */
  warnedAfter: number;
  warned: boolean;
  speechAfter: number;
  /** Why the rule's episode ended during the grace period, if it did. */
  cleared: string | null;
  token: boolean;
  episodeSince: number;
  /** Set for forced actions: who asked. */
  by: string | null;
}

interface Audit {
  callId: string;
  actionId: string;
  rule: string;
  spec: ActionSpec;
  outcome: ActionOutcome;
  reason: string | null;
  dueAt?: string | null;
  shadow: boolean;
  evidence: EvidencePoint[];
  signals?: Record<string, number>;
}

const LOG_LEVEL: Record<ActionOutcome, 'info' | 'warn'> = {
  proposed: 'info',
  suppressed: 'info',
  shadow: 'info',
  pending: 'warn',
  executed: 'warn',
  cancelled: 'info',
  failed: 'warn',
};

/**
 * Decides, from each call's emotion updates, which rules fire, and carries their actions out
 * through CallControl behind the safety mechanisms (docs/rules.md). Every decision is an ActionEvent
 * on the bus and a log line with the rule, the call and the scores that caused it.
 */
export class RuleEngine implements ActionControl {
  readonly #set: RuleSet;
  readonly #control: CallControl;
  readonly #registry: CallRegistry;
  readonly #bus: EventBus;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #hop: number;
  readonly #calls = new Map<string, CallState>();
  readonly #pending = new Map<string, Pending>();
  readonly #hangups: TokenBucket;

  constructor(opts: RuleEngineOptions) {
    this.#set = opts.rules;
    this.#control = opts.control;
    this.#registry = opts.registry;
    this.#bus = opts.bus;
    this.#log = opts.logger.child({ component: 'policy' });
    this.#clock = opts.clock ?? systemClock;
    this.#hop = opts.hopSeconds ?? 1;
    this.#hangups = new TokenBucket(this.#set.safety.hangup.maxPerMinute, 60_000, () => this.#clock.now());
  }

  get rules(): readonly Rule[] {
    return this.#set.rules;
  }

  /** Called once per emotion update per call. Synchronous: actions run in the background. */
  observe(update: EmotionUpdate): void {
    const call = this.#registry.get(update.callId);
    if (!call) return;
    const now = this.#clock.now();
    const state = this.#stateOf(update.callId);
    const safety = this.#set.safety;
    const last = state.last;
    // A gap in the updates (lost inference, a restarted tap) breaks every sustained condition.
    if (last && (update.end <= last.end || update.end - last.end > safety.maxGapSeconds + 1e-6 || now - state.lastAt > safety.maxGapSeconds * 1000)) {
      state.rules.forEach((_, i) => this.#endEpisode(call, state, i, 'gap in the scores'));
    }
    state.evidence.push(update);
    state.last = update;
    state.lastAt = now;

    this.#set.rules.forEach((rule, i) => {
      const rs = state.rules[i]!;
      if (!inScope(rule, call)) {
        this.#endEpisode(call, state, i, `out of scope (${call.phase})`);
        return;
      }
      // Silence: the smoothed scores do not move without speech, so by default a silent second
      // neither extends nor breaks an episode.
      if (!update.speech) {
        if (safety.silence === 'break') this.#endEpisode(call, state, i, 'silence');
        return;
      }
      const ev = evaluate(rule.when, update, rs.leaves);
      rs.leaves = ev.state;
      if (!ev.holds) {
        this.#endEpisode(call, state, i, 'condition cleared');
        return;
      }
      if (rs.held === 0) rs.since = update.end;
      rs.held++;
      for (const p of this.#pending.values()) {
        if (p.callId === call.callId && p.ruleIndex === i && update.start >= p.warnedAfter - 1e-6) p.speechAfter++;
      }
      if (rs.held < this.#needed(rule.forSeconds)) return;
      if (!rs.raised) {
        rs.raised = true;
        this.#alert(call.callId, rule, 'raised', update);
      }
      if (!rs.fired) this.#tryFire(call, state, i, update, now);
    });
  }

  /** The call is gone: its pending actions are cancelled and its state dropped. */
  callEnded(callId: string): void {
    for (const p of [...this.#pending.values()]) {
      if (p.callId === callId) this.#cancelPending(p, 'call ended');
    }
    const state = this.#calls.get(callId);
    if (!state) return;
    state.rules.forEach((rs, i) => {
      if (rs.raised) this.#alert(callId, this.#set.rules[i]!, 'cleared', null);
    });
    this.#calls.delete(callId);
  }

  /** Shutdown: pending actions are cancelled (nothing executes after close). */
  close(): void {
    for (const p of [...this.#pending.values()]) this.#cancelPending(p, 'shutting down');
    this.#calls.clear();
  }

  pending(callId?: string): PendingAction[] {
    return [...this.#pending.values()]
      .filter((p) => callId === undefined || p.callId === callId)
      .map(({ actionId, callId: c, rule, action, dueAt, evidence }) => ({ actionId, callId: c, rule, action, dueAt, evidence }));
  }

  cancel(actionId: string, by: string): boolean {
    const p = this.#pending.get(actionId);
    if (!p) return false;
    this.#cancelPending(p, `cancelled by ${by}`);
    return true;
  }

  async force(callId: string, action: ActionSpec, by: string): Promise<PbxResult> {
    const actionId = randomUUID();
    const state = this.#calls.get(callId);
    const evidence = state?.evidence.points() ?? [];
    const reason = `forced by ${by}`;
    const base = { callId, actionId, rule: 'forced', spec: action, shadow: false, evidence };
    if (!this.#registry.get(callId)) {
      this.#audit({ ...base, outcome: 'failed', reason: `${reason}: unknown call` });
      return { ok: false, error: `unknown call ${callId}` };
    }
    this.#audit({ ...base, outcome: 'proposed', reason });
    if (state) state.actions++;
    if (action.kind === 'hangup' && action.warn) {
      return this.#warn(callId, null, action, actionId, evidence, false, by);
    }
    const result = await perform(this.#control, callId, action);
    this.#audit({ ...base, outcome: result.ok ? 'executed' : 'failed', reason: result.ok ? reason : `${reason}: ${result.error ?? 'failed'}` });
    return result;
  }

  #stateOf(callId: string): CallState {
    let s = this.#calls.get(callId);
    if (!s) {
      s = {
        evidence: new EvidenceRing(this.#set.safety.evidencePoints),
        rules: this.#set.rules.map((r) => ({ leaves: initialState(r.when), held: 0, since: 0, raised: false, fired: false, suppressed: null, lastFiredAt: null, fires: 0 })),
        last: null,
        lastAt: this.#clock.now(),
        actions: 0,
      };
      this.#calls.set(callId, s);
    }
    return s;
  }

  #needed(seconds: number): number {
    return Math.max(1, Math.ceil(seconds / this.#hop - 1e-9));
  }

  #endEpisode(call: CallRecord, state: CallState, i: number, why: string): void {
    const rs = state.rules[i]!;
    const rule = this.#set.rules[i]!;
    for (const p of this.#pending.values()) {
      if (p.callId === call.callId && p.ruleIndex === i) p.cleared ??= why;
    }
    if (rs.raised) this.#alert(call.callId, rule, 'cleared', state.last, why);
    rs.leaves = initialState(rule.when);
    rs.held = 0;
    rs.raised = false;
    rs.fired = false;
    rs.suppressed = null;
  }

  /** Safety checks in order; the first that fails names the suppression. */
  #check(call: CallRecord, state: CallState, rule: Rule, rs: RuleState, update: EmotionUpdate, now: number, shadow: boolean): { key: string; reason: string; final: boolean } | null {
    const safety = this.#set.safety;
    if (rs.fires >= rule.maxPerCall) return { key: 'maxPerCall', reason: `rule already fired ${rs.fires} time(s) on this call (maxPerCall ${rule.maxPerCall})`, final: true };
    if (!shadow && state.actions + rule.actions.length > safety.maxActionsPerCall) {
      return { key: 'maxActionsPerCall', reason: `call already had ${state.actions} action(s) (safety.maxActionsPerCall ${safety.maxActionsPerCall})`, final: true };
    }
    if (rs.lastFiredAt !== null && now - rs.lastFiredAt < rule.cooldownSeconds * 1000) {
      return { key: 'cooldown', reason: `cooldown: fired ${Math.round((now - rs.lastFiredAt) / 1000)}s ago (cooldown ${rule.cooldownSeconds}s)`, final: false };
    }
    const age = (now - call.startedAt.getTime()) / 1000;
    if (age < rule.minCallAgeSeconds) return { key: 'minCallAge', reason: `call is ${Math.floor(age)}s old (minimum ${rule.minCallAgeSeconds}s)`, final: false };
    if (rule.actions.some((a) => a.kind === 'hangup')) {
      const min = safety.hangup.minClassifiedWindows;
      if (update.classified < min) return { key: 'minClassified', reason: `only ${update.classified} classified windows (safety.hangup.minClassifiedWindows ${min})`, final: false };
      if (this.#hangups.available < 1) return { key: 'rateLimit', reason: `global hang-up rate limit (${safety.hangup.maxPerMinute}/min) reached`, final: false };
    }
    return null;
  }

  #tryFire(call: CallRecord, state: CallState, i: number, update: EmotionUpdate, now: number): void {
    const rule = this.#set.rules[i]!;
    const rs = state.rules[i]!;
    const shadow = rule.shadow || this.#set.dryRun;
    const evidence = state.evidence.points(rs.since - EVIDENCE_LEAD_SECONDS);
    const signals = signalsOf(rule.when, update);
    const blocked = this.#check(call, state, rule, rs, update, now, shadow);
    if (blocked) {
      if (blocked.final) rs.fired = true;
      if (rs.suppressed === blocked.key) return;
      rs.suppressed = blocked.key;
      for (const spec of rule.actions) {
        const base = { callId: call.callId, actionId: randomUUID(), rule: rule.name, spec, shadow, evidence, signals };
        this.#audit({ ...base, outcome: 'proposed', reason: null });
        this.#audit({ ...base, outcome: 'suppressed', reason: blocked.reason });
      }
      return;
    }
    rs.fired = true;
    rs.fires++;
    rs.lastFiredAt = now;
    rs.suppressed = null;
    const planned = rule.actions.map((spec) => ({ spec, actionId: randomUUID() }));
    for (const { spec, actionId } of planned) {
      this.#audit({ callId: call.callId, actionId, rule: rule.name, spec, outcome: 'proposed', reason: null, shadow, evidence, signals });
    }
    if (shadow) {
      const why = rule.shadow ? 'shadow mode' : 'dryRun';
      for (const { spec, actionId } of planned) {
        this.#audit({ callId: call.callId, actionId, rule: rule.name, spec, outcome: 'shadow', reason: `${why}: would have ${describeAction(spec)}`, shadow: true, evidence, signals });
      }
      return;
    }
    state.actions += planned.length;
    const hangup = planned[0]!.spec;
    if (hangup.kind === 'hangup') {
      const token = this.#hangups.take();
      if (hangup.warn) {
        void this.#warn(call.callId, i, hangup, planned[0]!.actionId, evidence, token, null, rs.since);
      } else {
        void this.#run(call.callId, rule.name, planned, evidence, signals);
      }
      return;
    }
    void this.#run(call.callId, rule.name, planned, evidence, signals);
  }

  /** A rule's actions, one after another, in the order configured. */
  async #run(callId: string, rule: string, planned: { spec: ActionSpec; actionId: string }[], evidence: EvidencePoint[], signals: Record<string, number>): Promise<void> {
    for (const { spec, actionId } of planned) {
      const result = await perform(this.#control, callId, spec);
      this.#audit({ callId, actionId, rule, spec, outcome: result.ok ? 'executed' : 'failed', reason: result.ok ? null : result.error ?? 'failed', shadow: false, evidence, signals });
    }
  }

  /**
   * Warn-before-hangup: the warning is played first; only once Asterisk confirms it played to the end
   * does the grace period start (`graceSeconds`, cancellable by a supervisor until the hang-up is
   * issued). A warning that failed or was not confirmed is a failed precondition: no hang-up.
   */
  #warn(callId: string, ruleIndex: number | null, spec: Extract<ActionSpec, { kind: 'hangup' }>, actionId: string, evidence: EvidencePoint[], token: boolean, by: string | null, episodeSince = 0): Promise<PbxResult> {
    const warn = spec.warn!;
    const rule = ruleIndex === null ? 'forced' : this.#set.rules[ruleIndex]!.name;
    const p: Pending = {
      actionId,
      callId,
      rule,
      action: spec,
      dueAt: null,
      evidence,
      ruleIndex,
      timer: null,
      warnedAfter: Infinity,
      warned: false,
      speechAfter: 0,
      cleared: null,
      token,
      episodeSince,
      by,
    };
    this.#pending.set(actionId, p);
    const forced = by ? `forced by ${by}: ` : '';
    this.#audit({ callId, actionId, rule, spec, outcome: 'pending', reason: `${forced}playing the warning`, dueAt: null, shadow: false, evidence });
    return perform(this.#control, callId, { kind: 'play', media: warn.media }).then((result) => {
      if (this.#pending.get(actionId) !== p) return result; // cancelled (or the call ended) while it played
      if (!result.ok) {
        // Never hang up on a caller who was not warned.
        this.#dropPending(p);
        this.#audit({ callId, actionId, rule, spec, outcome: 'failed', reason: `precondition failed: the warning was not confirmed played (${result.error ?? 'failed'})`, shadow: false, evidence });
        return result;
      }
      p.warned = true;
      p.warnedAfter = this.#calls.get(callId)?.last?.end ?? 0;
      p.dueAt = new Date(this.#clock.now() + warn.graceSeconds * 1000).toISOString();
      p.timer = this.#clock.setTimeout(() => this.#due(actionId), warn.graceSeconds * 1000);
      this.#audit({ callId, actionId, rule, spec, outcome: 'pending', reason: `${forced}warning played`, dueAt: p.dueAt, shadow: false, evidence });
      return result;
    });
  }

  /** The grace period is over. Runs in one synchronous turn: cancel() either came before or sees nothing. */
  #due(actionId: string): void {
    const p = this.#pending.get(actionId);
    if (!p) return;
    this.#dropPending(p, false);
    const no = this.#mustNotHangUp(p);
    const state = this.#calls.get(p.callId);
    const evidence = state?.evidence.points(p.episodeSince - EVIDENCE_LEAD_SECONDS) ?? p.evidence;
    const audit = { callId: p.callId, actionId, rule: p.rule, spec: p.action, shadow: false, evidence };
    if (no) {
      if (p.token) this.#hangups.refund();
      this.#audit({ ...audit, outcome: 'cancelled', reason: no });
      return;
    }
    const by = p.by ? `forced by ${p.by}` : null;
    void perform(this.#control, p.callId, p.action).then((result) => {
      this.#audit({ ...audit, outcome: result.ok ? 'executed' : 'failed', reason: result.ok ? by : `${by ? `${by}: ` : ''}${result.error ?? 'failed'}` });
    });
  }

  /** Why the hang-up must not go ahead after its grace period, or null when it must. */
  #mustNotHangUp(p: Pending): string | null {
    const call = this.#registry.get(p.callId);
    if (!call) return 'call ended';
    if (!p.warned) return 'the warning was not confirmed played';
    if (p.ruleIndex === null) return null;
    const rule = this.#set.rules[p.ruleIndex]!;
    const state = this.#calls.get(p.callId);
    if (!inScope(rule, call)) return `call left the rule's scope (now ${call.phase})`;
    if (p.cleared) return p.cleared;
    if (!state || this.#clock.now() - state.lastAt > this.#set.safety.maxGapSeconds * 1000) return 'no recent scores to confirm the condition';
    const need = this.#needed(this.#set.safety.hangup.minSpeechAfterWarningSeconds);
    if (this.#set.safety.hangup.minSpeechAfterWarningSeconds > 0 && p.speechAfter < need) {
      return `condition not confirmed: ${p.speechAfter} of ${need} seconds of speech after the warning`;
    }
    return null;
  }

  #cancelPending(p: Pending, reason: string): void {
    this.#dropPending(p);
    this.#audit({ callId: p.callId, actionId: p.actionId, rule: p.rule, spec: p.action, outcome: 'cancelled', reason, shadow: false, evidence: p.evidence });
  }

  #dropPending(p: Pending, refund = true): void {
    this.#pending.delete(p.actionId);
    this.#clock.clearTimeout(p.timer);
    if (refund && p.token) this.#hangups.refund();
  }

  #alert(callId: string, rule: Rule, state: 'raised' | 'cleared', update: EmotionUpdate | null, why?: string): void {
    const message = state === 'raised' ? `${rule.alert}: ${describeCondition(rule.when)} for ${rule.forSeconds}s` : `${rule.alert}: ${why ?? 'cleared'}`;
    this.#bus.publish({ type: 'alert', callId, state, rule: rule.name, message });
    this.#log.info({ callId, rule: rule.name, alert: state, signals: update ? signalsOf(rule.when, update) : undefined }, `alert ${state}: ${message}`);
  }

  #audit(a: Audit): void {
    const params = paramsOf(a.spec);
    this.#bus.publish({
      type: 'action',
      callId: a.callId,
      actionId: a.actionId,
      rule: a.rule,
      kind: a.spec.kind,
      params,
      outcome: a.outcome,
      reason: a.reason,
      dueAt: a.dueAt ?? null,
      shadow: a.shadow,
      evidence: a.evidence,
    });
    const verb = a.outcome === 'shadow' ? 'would have' : `action ${a.outcome}:`;
    this.#log[LOG_LEVEL[a.outcome]](
      { callId: a.callId, rule: a.rule, actionId: a.actionId, kind: a.spec.kind, params, outcome: a.outcome, reason: a.reason, dueAt: a.dueAt ?? undefined, shadow: a.shadow, signals: a.signals, evidence: a.evidence },
      `${verb} ${describeAction(a.spec)} [rule:${a.rule}, call:${a.callId}]`,
    );
  }
}

export function inScope(rule: Rule, call: CallRecord): boolean {
  const s = rule.scope;
  if (s.phases && !s.phases.includes(call.phase)) return false;
  if (s.queues && (call.queue === null || !s.queues.includes(call.queue))) return false;
  if (s.contexts && (call.context === null || !s.contexts.includes(call.context))) return false;
  return true;
}

import type { EventBus } from '../events/bus.js';
import type { ActionEvent, AlertEvent, SerEvent } from '../events/types.js';

/** One point of a call's timeline: the smoothed scores of one emotion update. */
export interface TimelinePoint {
  ts: string;
  speech: boolean;
  negativity: number;
  probs: Record<string, number>;
}

export interface ActiveAlert {
  rule: string;
  message: string;
  since: string;
}

export interface CallHistoryView {
  timeline: TimelinePoint[];
  alerts: AlertEvent[];
  actions: ActionEvent[];
}

interface Track {
  timeline: TimelinePoint[];
  alerts: AlertEvent[];
  actions: ActionEvent[];
  active: Map<string, ActiveAlert>;
}

const MAX_LOG = 50;

/**
 * The recent past of each live call, so a console opened (or reloaded) mid-call can draw its timeline
 * and list its alerts and actions. Bounded per call; forgotten when the call ends. Only live calls get
 * a track: the rule engine still publishes "alert cleared" and "action cancelled" for a call after its
 * `call.ended`, and those must not bring it back.
 */
export class CallHistory {
  readonly #tracks = new Map<string, Track>();
  readonly #maxPoints: number;
  readonly #isLive: (callId: string) => boolean;
  readonly #unsubscribe: () => void;

  /**
   * `seconds` of timeline are kept (emotion updates arrive about once a second); `isLive` says whether
   * a call is still in the registry (which drops it before publishing its `call.ended`).
   */
  constructor(bus: EventBus, seconds: number, isLive: (callId: string) => boolean) {
    this.#isLive = isLive;
    this.#maxPoints = Math.max(1, Math.ceil(seconds));
    this.#unsubscribe = bus.subscribe((e) => this.#record(e));
  }

  view(callId: string): CallHistoryView {
    const t = this.#tracks.get(callId);
    return { timeline: t ? [...t.timeline] : [], alerts: t ? [...t.alerts] : [], actions: t ? [...t.actions] : [] };
  }

  /**
   * The latest event of each action of the live calls (or of one call), oldest first: what each action
   * is now. A page opened after the fact must not take an action's first event (`proposed`) for its state.
   */
  latestActions(callId?: string): ActionEvent[] {
    const out: ActionEvent[] = [];
    const tracks = callId === undefined ? [...this.#tracks.values()] : [this.#tracks.get(callId)].filter((t): t is Track => t !== undefined);
    for (const t of tracks) {
      const latest = new Map<string, ActionEvent>();
      for (const a of t.actions) {
        latest.delete(a.actionId); // re-inserted: the map's order is the order of the latest events
        latest.set(a.actionId, a);
      }
      out.push(...latest.values());
    }
    return out;
  }

  activeAlerts(callId: string): ActiveAlert[] {
    return [...(this.#tracks.get(callId)?.active.values() ?? [])];
  }

  get size(): number {
    return this.#tracks.size;
  }

  close(): void {
    this.#unsubscribe();
    this.#tracks.clear();
  }

  #track(callId: string): Track | null {
    let t = this.#tracks.get(callId);
    if (!t) {
      if (!this.#isLive(callId)) return null;
      this.#tracks.set(callId, (t = { timeline: [], alerts: [], actions: [], active: new Map() }));
    }
    return t;
  }

  #record(e: SerEvent): void {
    switch (e.type) {
      case 'call.ended':
        this.#tracks.delete(e.callId);
        return;
      case 'emotion': {
        const t = this.#track(e.callId)?.timeline;
        if (!t) return;
        t.push({ ts: e.ts, speech: e.speech, negativity: e.negativity, probs: e.probs });
        if (t.length > this.#maxPoints) t.shift();
        return;
      }
      case 'alert': {
        const t = this.#track(e.callId);
        if (!t) return;
        pushBounded(t.alerts, e);
        if (e.state === 'raised') t.active.set(e.rule, { rule: e.rule, message: e.message, since: e.ts });
        else t.active.delete(e.rule);
        return;
      }
      case 'action': {
        const t = this.#track(e.callId);
        if (t) pushBounded(t.actions, e);
        return;
      }
      default:
        return;
    }
  }
}

function pushBounded<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_LOG) list.shift();
}

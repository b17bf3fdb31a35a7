import type { Logger } from 'pino';
import type { EmotionUpdate } from '../emotion/tracker.js';
import type { EventBus } from '../events/bus.js';
import type { CallSummary, TapState } from '../events/types.js';
import type { AudioPath, CallAudioStats } from '../pipeline/audio-path.js';
import type { CallRecord, CallRegistry, NewCall } from './registry.js';
import { VerdictBook, type VerdictOptions } from './verdict.js';

export interface CallLifecycleOptions {
  registry: CallRegistry;
  bus: EventBus;
  audioPath: AudioPath;
  verdicts: VerdictOptions;
  logger: Logger;
}

type Release = (reason: string) => Promise<void> | void;

/**
 * One live call, whichever switch it is on. It owns the call's record, its tap state as published,
 * its verdict and its single clean-up path: `end()` runs what the PBX adapter registered with
 * `onRelease` (in reverse order), then publishes the summary and forgets the call. Idempotent.
 */
export class Call {
  readonly callId: string;
  readonly log: Logger;
  readonly abort = new AbortController();
  actionsExecuted = 0;
  tapAttempts = 0;
  #tapped = false;
  #ended: Promise<void> | null = null;
  readonly #releases: Release[] = [];
  readonly #owner: CallLifecycle;

  constructor(owner: CallLifecycle, callId: string, log: Logger) {
    this.#owner = owner;
    this.callId = callId;
    this.log = log.child({ callId });
  }

  get ended(): boolean {
    return this.#ended !== null;
  }

  /** The registry's view (mode, phase, queue, priority, latest emotion); undefined once ended. */
  get record(): CallRecord | undefined {
    return this.#owner.registry.get(this.callId);
  }

  update(patch: Partial<Omit<CallRecord, 'callId' | 'startedAt'>>): void {
    if (!this.ended) this.#owner.registry.update(this.callId, patch);
  }

  /** Publishes a tap state change; `tapped` marks the record tapped, `retrying`/`untapped` clear it. */
  tap(state: TapState, reason: string | null, attempt = this.tapAttempts): void {
    if (this.ended && state !== 'released') return;
    if (state === 'tapped') this.#tapped = true;
    if (state !== 'released') this.update({ tapped: state === 'tapped' });
    this.#owner.bus.publish({ type: 'tap', callId: this.callId, state, reason, attempt });
  }

  /** SER_EMOTION, SER_NEGATIVITY, SER_ESCALATE and QUEUE_PRIO as the dialplan should read them now. */
  verdictVariables(): Record<string, string> {
    return this.#owner.verdicts.variables(this.callId, this.record?.priority ?? null);
  }

  /** What the adapter created for this call (taps, legs, registrations), released once when the call ends. */
  onRelease(release: Release): void {
    this.#releases.push(release);
  }

  end(reason: string): Promise<void> {
    this.#ended ??= this.#end(reason);
    return this.#ended;
  }

  async #end(reason: string): Promise<void> {
    this.abort.abort();
    const o = this.#owner;
    o.forget(this.callId);
    const started = this.record?.startedAt.getTime() ?? Date.now();
    // The releases close the call's audio; its final figures are those it closed with.
    let audio = o.audioPath.stats(this.callId);
    const onClosed = (stats: CallAudioStats): void => {
      if (stats.callId === this.callId) audio = stats;
    };
    o.audioPath.on('call-closed', onClosed);
    for (const release of this.#releases.splice(0).reverse()) {
      try {
        await release(reason);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'releasing part of the call failed');
      }
    }
    o.audioPath.off('call-closed', onClosed);
    if (this.#tapped) this.tap('released', reason);
    const summary: CallSummary = {
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      windows: audio?.pipeline.windows ?? 0,
      classified: audio?.pipeline.classified ?? 0,
      ...o.verdicts.close(this.callId),
      actionsExecuted: this.actionsExecuted,
      rtp: audio?.rtp
        ? {
            packets: audio.rtp.packets,
            lost: audio.rtp.lost,
            late: audio.rtp.late,
            duplicate: audio.rtp.duplicate,
            foreignSource: audio.rtp.foreignSource,
            badPayloadType: audio.rtp.badPayloadType,
            malformed: audio.rtp.malformed,
          }
        : null,
    };
    o.registry.remove(this.callId, reason, summary);
    this.log.info({ reason }, 'call ended, everything it held released');
  }
}

/**
 * The PBX-neutral call lifecycle: a PBX adapter reports a caller entering (`enter`), its tap states and
 * its end (`Call.end`); this keeps the registry, the bus's call/tap events, the verdicts the dialplan
 * reads and the per-call counters. Nothing here knows which switch the call is on.
 */
export class CallLifecycle {
  readonly registry: CallRegistry;
  readonly bus: EventBus;
  readonly audioPath: AudioPath;
  readonly verdicts: VerdictBook;
  readonly #calls = new Map<string, Call>();
  readonly #log: Logger;
  readonly #onEmotion = (u: EmotionUpdate): void => {
    // Late updates of an ended call and agent-side streams (`<callId>:agent`) are not a live call's verdict.
    if (this.#calls.has(u.callId)) this.verdicts.observe(u);
  };
  readonly #unsubscribe: () => void;

  constructor(o: CallLifecycleOptions) {
    this.registry = o.registry;
    this.bus = o.bus;
    this.audioPath = o.audioPath;
    this.verdicts = new VerdictBook(o.verdicts);
    this.#log = o.logger;
    o.audioPath.on('emotion', this.#onEmotion);
    this.#unsubscribe = o.bus.subscribe((e) => {
      if (e.type === 'action' && e.outcome === 'executed') {
        const call = this.#calls.get(e.callId);
        if (call) call.actionsExecuted++;
      }
    });
  }

  get size(): number {
    return this.#calls.size;
  }

  get(callId: string): Call | undefined {
    return this.#calls.get(callId);
  }

  list(): Call[] {
    return [...this.#calls.values()];
  }

  /** A caller entered: its record is published (call.started). A second entry of the same call returns it. */
  enter(entry: NewCall): Call {
    const existing = this.#calls.get(entry.callId);
    if (existing) return existing;
    const call = new Call(this, entry.callId, this.#log);
    this.#calls.set(entry.callId, call);
    this.registry.add(entry);
    return call;
  }

  /** Called by Call.end only: from then on the call is no longer live. */
  forget(callId: string): void {
    this.#calls.delete(callId);
  }

  /** Ends every live call (shutdown) and stops listening. */
  async close(reason = 'shutdown'): Promise<void> {
    await Promise.all(this.list().map((c) => c.end(reason)));
    this.audioPath.off('emotion', this.#onEmotion);
    this.#unsubscribe();
  }
}

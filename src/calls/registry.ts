import { EventEmitter } from 'eventemitter3';
import type { EventBus } from '../events/bus.js';
import type { CallMode, CallPhase, CallSummary, EmotionEvent } from '../events/types.js';

export interface CallRecord {
  /** The caller channel's id: the key every event and log line about the call carries. */
  callId: string;
  channelName: string;
  callerNumber: string | null;
  callerName: string | null;
  mode: CallMode;
  phase: CallPhase;
  queue: string | null;
  context: string | null;
  agent: string | null;
  startedAt: Date;
  /** Whether the channel is still in our Stasis app (variables, continue and redirect need it). */
  inStasis: boolean;
  tapped: boolean;
  /** Queue priority as last set (ours or app_queue's), null when not queued. */
  priority: number | null;
  lastEmotion: EmotionEvent | null;
}

export type NewCall = Pick<CallRecord, 'callId' | 'channelName' | 'callerNumber' | 'callerName' | 'mode' | 'phase'> &
  Partial<Pick<CallRecord, 'queue' | 'context' | 'agent' | 'inStasis' | 'tapped' | 'priority'>>;

interface RegistryEvents {
  added: [call: CallRecord];
  updated: [call: CallRecord];
  removed: [call: CallRecord, reason: string];
}

/**
 * Every live call the process knows, one record per caller channel. Publishes call.started,
 * call.phase and call.ended on the bus, so those events cannot disagree with the registry.
 */
export class CallRegistry extends EventEmitter<RegistryEvents> {
  readonly #calls = new Map<string, CallRecord>();
  readonly #bus: EventBus;

  constructor(bus: EventBus) {
    super();
    this.#bus = bus;
  }

  get size(): number {
    return this.#calls.size;
  }

  get(callId: string): CallRecord | undefined {
    return this.#calls.get(callId);
  }

  list(): CallRecord[] {
    return [...this.#calls.values()];
  }

  add(call: NewCall): CallRecord {
    const existing = this.#calls.get(call.callId);
    if (existing) return existing;
    const record: CallRecord = {
      queue: null,
      context: null,
      agent: null,
      inStasis: true,
      tapped: false,
      priority: null,
      ...call,
      startedAt: new Date(),
      lastEmotion: null,
    };
    this.#calls.set(record.callId, record);
    this.#bus.publish({
      type: 'call.started',
      callId: record.callId,
      channelName: record.channelName,
      callerNumber: record.callerNumber,
      callerName: record.callerName,
      mode: record.mode,
      phase: record.phase,
      queue: record.queue,
      context: record.context,
    });
    this.emit('added', record);
    return record;
  }

  /** Applies a patch; a change of phase, queue or agent is published as call.phase. */
  update(callId: string, patch: Partial<Omit<CallRecord, 'callId' | 'startedAt'>>): CallRecord | undefined {
    const record = this.#calls.get(callId);
    if (!record) return undefined;
    const phaseChanged =
      (patch.phase !== undefined && patch.phase !== record.phase) ||
      (patch.queue !== undefined && patch.queue !== record.queue) ||
      (patch.agent !== undefined && patch.agent !== record.agent);
    Object.assign(record, patch);
    if (phaseChanged) {
      this.#bus.publish({ type: 'call.phase', callId, phase: record.phase, queue: record.queue, agent: record.agent });
    }
    this.emit('updated', record);
    return record;
  }

  remove(callId: string, reason: string, summary: CallSummary): CallRecord | undefined {
    const record = this.#calls.get(callId);
    if (!record) return undefined;
    this.#calls.delete(callId);
    this.#bus.publish({ type: 'call.ended', callId, reason, summary });
    this.emit('removed', record, reason);
    return record;
  }
}

import type { EventEmitter } from 'eventemitter3';
import type { EventBus } from '../events/bus.js';
import type { InferenceEngineEvents } from '../inference/engine.js';
import type { AudioPathEvents, CallAudioStats } from '../pipeline/audio-path.js';
import type { RtpStats } from '../rtp/receiver.js';
import type { Metrics } from './metrics.js';

/**
 * What the events carry: live calls, actions by rule and outcome, alerts, tap failures and the
 * window-to-event latency of emotion updates. Runs on the publisher's thread: counter updates only.
 * Returns the unsubscribe function.
 */
export function observeBus(metrics: Metrics, bus: EventBus): () => void {
  const live = new Set<string>();
  return bus.subscribe((event) => {
    metrics.eventsPublished.labels(event.type).inc();
    switch (event.type) {
      case 'call.started':
        if (!live.has(event.callId)) metrics.callsTotal.inc();
        live.add(event.callId);
        metrics.activeCalls.set(live.size);
        break;
      case 'call.ended':
        live.delete(event.callId);
        metrics.activeCalls.set(live.size);
        break;
      case 'emotion':
        metrics.emotionUpdates.labels(String(event.speech)).inc();
        metrics.windowToEventLatency.observe(event.latencyMs / 1000);
        break;
      case 'action':
        metrics.actions.labels(event.rule, event.kind, event.outcome).inc();
        break;
      case 'alert':
        metrics.alerts.labels(event.rule, event.state).inc();
        break;
      case 'tap':
        if (event.state === 'retrying' || event.state === 'untapped') metrics.tapFailures.labels(event.state).inc();
        break;
      default:
        break;
    }
  });
}

/** Batch timings and worker deaths from the inference engine. Returns the unsubscribe function. */
export function observeInference(metrics: Metrics, engine: EventEmitter<InferenceEngineEvents>): () => void {
  const onBatch = (b: InferenceEngineEvents['batch'][0]): void => {
    metrics.inferenceLatency.observe(b.ms / 1000);
    metrics.inferenceQueue.observe(b.queuedMs / 1000);
    metrics.inferenceBatchSize.observe(b.size);
  };
  const onDied = (): void => metrics.inferenceFailures.inc();
  engine.on('batch', onBatch);
  engine.on('worker-died', onDied);
  return () => {
    engine.off('batch', onBatch);
    engine.off('worker-died', onDied);
  };
}

/** The part of AudioPath the RTP sampler needs. */
export interface AudioPathLike extends EventEmitter<AudioPathEvents> {
  stats(callId: string): CallAudioStats | null;
}

const REJECT_REASONS = ['foreignSource', 'foreignSsrc', 'badPayloadType', 'malformed', 'stray', 'rateCapped'] as const;
const COUNTED = ['packets', 'lost', 'late', 'duplicate', 'ssrcChanges', 'socketErrors', ...REJECT_REASONS] as const;
type Counted = Pick<RtpStats, (typeof COUNTED)[number]>;
const ZERO: Counted = Object.fromEntries(COUNTED.map((k) => [k, 0])) as Counted;

/**
 * RTP counters of the tapped calls. The receivers keep cumulative per-call stats; this samples the
 * live ones every `sampleMs` (and each call once more when it closes) and adds the deltas, so the
 * counters move during long calls, not only when they end. Returns the stop function.
 */
export function observeAudioPath(metrics: Metrics, audio: AudioPathLike, opts: { sampleMs?: number } = {}): () => void {
  const seen = new Map<string, Counted>();
  const add = (callId: string, rtp: RtpStats): void => {
    const prev = seen.get(callId);
    metrics.rtpPackets.inc(rtp.packets - (prev?.packets ?? 0));
    metrics.rtpLost.inc(rtp.lost - (prev?.lost ?? 0));
    metrics.rtpLate.inc(rtp.late - (prev?.late ?? 0));
    metrics.rtpDuplicate.inc(rtp.duplicate - (prev?.duplicate ?? 0));
    metrics.rtpSsrcChanges.inc(rtp.ssrcChanges - (prev?.ssrcChanges ?? 0));
    metrics.rtpSocketErrors.inc(rtp.socketErrors - (prev?.socketErrors ?? 0));
    for (const reason of REJECT_REASONS) {
      const d = rtp[reason] - (prev?.[reason] ?? 0);
      if (d > 0) metrics.rtpRejected.labels(reason).inc(d);
    }
    const counted = { ...ZERO };
    for (const k of COUNTED) counted[k] = rtp[k];
    seen.set(callId, counted);
  };
  const sample = (): void => {
    for (const callId of seen.keys()) {
      const s = audio.stats(callId);
      if (s?.rtp) {
        add(callId, s.rtp);
        if (s.rtp.packets > 0) metrics.rtpJitter.observe(s.rtp.jitterMs / 1000);
      }
    }
  };
  const onFirst = (callId: string): void => {
    if (!seen.has(callId) && audio.stats(callId)?.rtp) seen.set(callId, { ...ZERO });
  };
  const onClosed = (s: CallAudioStats): void => {
    if (s.rtp) add(s.callId, s.rtp);
    seen.delete(s.callId);
  };
  audio.on('first-packet', onFirst);
  audio.on('call-closed', onClosed);
  const timer = setInterval(sample, opts.sampleMs ?? 5000);
  timer.unref();
  return () => {
    clearInterval(timer);
    audio.off('first-packet', onFirst);
    audio.off('call-closed', onClosed);
  };
}

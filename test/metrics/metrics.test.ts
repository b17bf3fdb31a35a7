import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallRegistry } from '../../src/calls/registry.js';
import { EventBus } from '../../src/events/bus.js';
import type { InferenceEngineEvents } from '../../src/inference/engine.js';
import { parseUdpRcvbufErrors, readUdpRcvbufErrors } from '../../src/metrics/udp-snmp.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { observeAudioPath, observeBus, observeInference, type AudioPathLike } from '../../src/metrics/observe.js';
import type { AudioPathEvents, CallAudioStats } from '../../src/pipeline/audio-path.js';
import type { RtpStats } from '../../src/rtp/receiver.js';
import { EMPTY_SUMMARY, addCall, probs, world, type World } from '../console/support.js';
import { REPO } from '../helpers/paths.js';

/** The value of one series in Prometheus text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[{}".+]/g, (c) => `\\${c}`);
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const NAMED_SERIES = [
  'ser_active_calls',
  'ser_calls_total',
  'ser_rtp_packets_total',
  'ser_rtp_lost_total',
  'ser_rtp_late_total',
  'ser_rtp_duplicate_total',
  'ser_rtp_jitter_seconds',
  'ser_inference_latency_seconds',
  'ser_inference_queue_seconds',
  'ser_inference_batch_size',
  'ser_window_to_event_latency_seconds',
  'ser_actions_total',
  'ser_ari_reconnects_total',
  'ser_event_stream_drops_total',
  'ser_tap_failures_total',
];

describe('/metrics', () => {
  let w: World | null = null;
  afterEach(async () => {
    await w?.server.close();
    w = null;
  });

  it('exposes every named series in Prometheus text format, on a registry of its own', async () => {
    w = await world();
    const res = await fetch(`${w.server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of NAMED_SERIES) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'));
    // Two Metrics never share a series.
    const other = new Metrics();
    other.ariReconnects.inc(3);
    expect(sample(await w.metrics.text(), 'ser_ari_reconnects_total')).toBe(0);
  });

  it('follows the bus: live calls, actions by rule and outcome, alerts, tap failures, window-to-event latency', async () => {
    w = await world();
    observeBus(w.metrics, w.bus);
    const read = async () => (await fetch(`${w!.server.url}/metrics`)).text();
    addCall(w.registry, 'a');
    addCall(w.registry, 'b');
    expect(sample(await read(), 'ser_active_calls')).toBe(2);
    w.bus.publish({ type: 'emotion', callId: 'a', seq: 1, start: 0, end: 3, speech: true, speechRatio: 1, loudnessDbfs: -20, probs: probs('ANG'), dominant: 'ANG', confidence: 0.7, negativity: 0.8, arousal: 0.7, adjusted: probs('ANG'), adjustedNegativity: 0.8, baselineWindows: 0, baselineNegativity: null, familiarity: null, latencyMs: 42 });
    for (const outcome of ['pending', 'cancelled', 'pending', 'executed'] as const) {
      w.bus.publish({ type: 'action', callId: 'a', actionId: 'x', rule: 'abuse', kind: 'hangup', params: {}, outcome, reason: null, dueAt: null, shadow: false, evidence: [] });
    }
    w.bus.publish({ type: 'action', callId: 'b', actionId: 'y', rule: 'distress', kind: 'priority', params: { add: 5 }, outcome: 'shadow', reason: null, dueAt: null, shadow: true, evidence: [] });
    w.bus.publish({ type: 'alert', callId: 'a', state: 'raised', rule: 'abuse', message: 'm' });
    w.bus.publish({ type: 'tap', callId: 'b', state: 'retrying', reason: 'no RTP', attempt: 1 });
    w.bus.publish({ type: 'tap', callId: 'b', state: 'tapped', reason: null, attempt: 2 });
    w.registry.remove('a', 'hangup', EMPTY_SUMMARY);

    const text = await read();
    expect(sample(text, 'ser_active_calls')).toBe(1);
    expect(sample(text, 'ser_calls_total')).toBe(2);
    expect(sample(text, 'ser_actions_total{rule="abuse",kind="hangup",outcome="pending"}')).toBe(2);
    expect(sample(text, 'ser_actions_total{rule="abuse",kind="hangup",outcome="cancelled"}')).toBe(1);
    expect(sample(text, 'ser_actions_total{rule="abuse",kind="hangup",outcome="executed"}')).toBe(1);
    expect(sample(text, 'ser_actions_total{rule="distress",kind="priority",outcome="shadow"}')).toBe(1);
    expect(sample(text, 'ser_alerts_total{rule="abuse",state="raised"}')).toBe(1);
    expect(sample(text, 'ser_tap_failures_total{state="retrying"}')).toBe(1);
    expect(sample(text, 'ser_tap_failures_total{state="tapped"}')).toBeUndefined();
    expect(sample(text, 'ser_window_to_event_latency_seconds_count')).toBe(1);
    expect(sample(text, 'ser_window_to_event_latency_seconds_sum')).toBe(0.042);
    expect(sample(text, 'ser_window_to_event_latency_seconds_bucket{le="0.05"}')).toBe(1);
    expect(sample(text, 'ser_window_to_event_latency_seconds_bucket{le="0.02"}')).toBe(0);
    expect(sample(text, 'ser_events_total{type="action"}')).toBe(5);
  });

  it('issue 16: durations are in seconds (`_seconds`), no series is named in milliseconds', async () => {
    const text = await new Metrics().text();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
    expect(types.filter((t) => /_ms$|_millis/.test(t.name))).toEqual([]);
    expect(types.filter((t) => t.type === 'histogram' && t.name !== 'ser_inference_batch_size').map((t) => t.name).sort()).toEqual([
      'ser_inference_latency_seconds',
      'ser_inference_queue_seconds',
      'ser_rtp_jitter_seconds',
      'ser_window_to_event_latency_seconds',
    ]);
  });

  it('issue 16: docs/console.md lists exactly the ser_ series the registry exports', async () => {
    const text = await new Metrics().text();
    const exported = [...text.matchAll(/^# TYPE (ser_\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const doc = readFileSync(join(REPO, 'docs/console.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(ser_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(documented).toEqual(exported);
  });

  it('issue 16: with processMetrics, Node\'s process series under their standard unprefixed names', async () => {
    const text = await new Metrics({ processMetrics: true }).text();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    expect(text).not.toMatch(/^# TYPE ser_process_/m);
    expect(await new Metrics().text()).not.toMatch(/^# TYPE process_/m);
  });

  it('counts a call once even if the registry sees it twice, and never goes below zero', () => {
    const bus = new EventBus();
    const metrics = new Metrics();
    observeBus(metrics, bus);
    const registry = new CallRegistry(bus);
    addCall(registry, 'a');
    addCall(registry, 'a'); // idempotent in the registry: no second call.started
    bus.publish({ type: 'call.ended', callId: 'ghost', reason: 'r', summary: EMPTY_SUMMARY });
    return metrics.text().then((text) => {
      expect(sample(text, 'ser_active_calls')).toBe(1);
      expect(sample(text, 'ser_calls_total')).toBe(1);
    });
  });

  it('records inference batches and worker deaths from the engine\'s events', async () => {
    const metrics = new Metrics();
    const engine = new EventEmitter<InferenceEngineEvents>();
    const stop = observeInference(metrics, engine);
    engine.emit('batch', { size: 4, samples: 24000, ms: 7.5, queuedMs: 3 });
    engine.emit('batch', { size: 1, samples: 24000, ms: 2.5, queuedMs: 15 });
    engine.emit('worker-died', { index: 0, message: 'boom' });
    stop();
    engine.emit('batch', { size: 32, samples: 24000, ms: 100, queuedMs: 1 });
    const text = await metrics.text();
    expect(sample(text, 'ser_inference_batch_size_count')).toBe(2);
    expect(sample(text, 'ser_inference_batch_size_sum')).toBe(5);
    expect(sample(text, 'ser_inference_latency_seconds_sum')).toBeCloseTo(0.01, 12);
    expect(sample(text, 'ser_inference_latency_seconds_bucket{le="0.005"}')).toBe(1);
    expect(sample(text, 'ser_inference_queue_seconds_sum')).toBeCloseTo(0.018, 12);
    expect(sample(text, 'ser_inference_worker_deaths_total')).toBe(1);
  });

  describe('RTP counters from the audio path', () => {
    afterEach(() => vi.useRealTimers());

    function rtp(over: Partial<RtpStats>): RtpStats {
      return { packets: 0, bytes: 0, lost: 0, late: 0, duplicate: 0, reordered: 0, stray: 0, foreignSource: 0, foreignSsrc: 0, badPayloadType: 0, malformed: 0, ssrcChanges: 0, socketErrors: 0, listenerErrors: 0, rateCapped: 0, jitterMs: 0, firstPacketAt: null, lastPacketAt: null, ...over };
    }

    class FakeAudioPath extends EventEmitter<AudioPathEvents> implements AudioPathLike {
      readonly live = new Map<string, RtpStats>();
      stats(callId: string): CallAudioStats | null {
        const s = this.live.get(callId);
        return s ? { callId, port: 40000, rtp: s, pipeline: { windows: 0, classified: 0, silent: 0, nonSpeech: 0, dropped: 0, inferenceErrors: 0 } } : null;
      }
      close(callId: string): void {
        const s = this.stats(callId)!;
        this.live.delete(callId);
        this.emit('call-closed', s);
      }
    }

    it('adds each live call\'s growth every sample and the remainder when it closes, never counting twice', async () => {
      vi.useFakeTimers();
      const metrics = new Metrics();
      const audio = new FakeAudioPath();
      const stop = observeAudioPath(metrics, audio, { sampleMs: 1000 });
      audio.live.set('a', rtp({ packets: 10 }));
      audio.emit('first-packet', 'a');
      audio.live.set('a', rtp({ packets: 50, lost: 1, jitterMs: 4 }));
      vi.advanceTimersByTime(1000);
      let text = await metrics.text();
      expect(sample(text, 'ser_rtp_packets_total')).toBe(50);
      expect(sample(text, 'ser_rtp_lost_total')).toBe(1);
      expect(sample(text, 'ser_rtp_jitter_seconds_count')).toBe(1);
      expect(sample(text, 'ser_rtp_jitter_seconds_bucket{le="0.005"}')).toBe(1);
      expect(sample(text, 'ser_rtp_jitter_seconds_bucket{le="0.002"}')).toBe(0);

      audio.live.set('a', rtp({ packets: 120, lost: 3, late: 2, duplicate: 1, foreignSource: 7, jitterMs: 30 }));
      audio.close('a');
      vi.advanceTimersByTime(5000); // closed calls are no longer sampled
      text = await metrics.text();
      expect(sample(text, 'ser_rtp_packets_total')).toBe(120);
      expect(sample(text, 'ser_rtp_lost_total')).toBe(3);
      expect(sample(text, 'ser_rtp_late_total')).toBe(2);
      expect(sample(text, 'ser_rtp_duplicate_total')).toBe(1);
      expect(sample(text, 'ser_rtp_rejected_total{reason="foreignSource"}')).toBe(7);

      // A call whose only packets were rejected is counted when it closes.
      audio.live.set('b', rtp({ malformed: 4 }));
      audio.close('b');
      stop();
      text = await metrics.text();
      expect(sample(text, 'ser_rtp_rejected_total{reason="malformed"}')).toBe(4);
      expect(sample(text, 'ser_rtp_packets_total')).toBe(120);
    });

    it('issue 13: exports SSRC changes, rate-capped drops and socket errors of the taps', async () => {
      vi.useFakeTimers();
      const metrics = new Metrics();
      const audio = new FakeAudioPath();
      const stop = observeAudioPath(metrics, audio, { sampleMs: 1000 });
      audio.live.set('a', rtp({ packets: 10 }));
      audio.emit('first-packet', 'a');
      audio.live.set('a', rtp({ packets: 60, ssrcChanges: 1, rateCapped: 900, socketErrors: 2 }));
      vi.advanceTimersByTime(1000);
      audio.live.set('a', rtp({ packets: 70, ssrcChanges: 1, rateCapped: 950, socketErrors: 3 }));
      audio.close('a');
      stop();
      const text = await metrics.text();
      expect(sample(text, 'ser_rtp_ssrc_changes_total')).toBe(1);
      expect(sample(text, 'ser_rtp_rejected_total{reason="rateCapped"}')).toBe(950);
      expect(sample(text, 'ser_rtp_socket_errors_total')).toBe(3);
    });
  });

  it('issue 13: exports the kernel\'s UDP receive-buffer drops from /proc/net/snmp', async () => {
    const snmp = 'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 216403 0 7 231481 42 0\n';
    expect(parseUdpRcvbufErrors(snmp)).toBe(42);
    expect(parseUdpRcvbufErrors('Ip: 1 2\nIp: 3 4\n')).toBeNull();
    const text = await new Metrics().text();
    if (readUdpRcvbufErrors() !== null) expect(text).toMatch(/^ser_udp_rcvbuf_errors \d+$/m);
  });
});

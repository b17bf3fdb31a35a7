import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { readUdpRcvbufErrors } from './udp-snmp.js';

/**
 * The process's Prometheus series, on a registry of its own (never prom-client's global one, so two
 * apps in one process or one test file never share counters). Other modules update the named handles;
 * `observeBus`, `observeAudioPath` and `observeInference` (beside this file) wire the common sources.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly activeCalls = new Gauge({ name: 'ser_active_calls', help: 'Live calls known to the process', registers: [this.registry] });
  readonly callsTotal = new Counter({ name: 'ser_calls_total', help: 'Calls started', registers: [this.registry] });

  readonly rtpPackets = new Counter({ name: 'ser_rtp_packets_total', help: 'Valid RTP packets received on call taps', registers: [this.registry] });
  readonly rtpLost = new Counter({ name: 'ser_rtp_lost_total', help: '20 ms slots concealed because their packet did not arrive in time', registers: [this.registry] });
  readonly rtpLate = new Counter({ name: 'ser_rtp_late_total', help: 'RTP packets that arrived after their slot was concealed (dropped)', registers: [this.registry] });
  readonly rtpDuplicate = new Counter({ name: 'ser_rtp_duplicate_total', help: 'Duplicate RTP packets (dropped)', registers: [this.registry] });
  readonly rtpRejected = new Counter({
    name: 'ser_rtp_rejected_total',
    help: 'RTP datagrams rejected, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly rtpSsrcChanges = new Counter({ name: 'ser_rtp_ssrc_changes_total', help: 'Times a new SSRC took over a tap (after the old one went silent)', registers: [this.registry] });
  readonly rtpSocketErrors = new Counter({ name: 'ser_rtp_socket_errors_total', help: 'Errors on bound RTP sockets (counted, the socket stays open)', registers: [this.registry] });
  /** The kernel's UDP receive-buffer overflows, all sockets of the host (/proc/net/snmp), read at scrape. */
  readonly udpRcvbufErrors = new Gauge({
    name: 'ser_udp_rcvbuf_errors',
    help: 'Kernel UDP RcvbufErrors (host-wide, from /proc/net/snmp): datagrams dropped because a socket receive buffer was full',
    registers: [this.registry],
    collect() {
      const n = readUdpRcvbufErrors();
      if (n !== null) this.set(n);
    },
  });
  readonly rtpJitter = new Histogram({
    name: 'ser_rtp_jitter_seconds',
    help: 'RFC 3550 interarrival jitter of live taps, sampled per call',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16],
    registers: [this.registry],
  });

  readonly inferenceLatency = new Histogram({
    name: 'ser_inference_latency_seconds',
    help: 'Time inside onnxruntime per batch',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [this.registry],
  });
  readonly inferenceQueue = new Histogram({
    name: 'ser_inference_queue_seconds',
    help: 'Wait of a batch\'s oldest window before it left for a worker',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [this.registry],
  });
  readonly inferenceBatchSize = new Histogram({
    name: 'ser_inference_batch_size',
    help: 'Windows per onnxruntime batch',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  readonly inferenceFailures = new Counter({ name: 'ser_inference_worker_deaths_total', help: 'Inference worker threads that died and were restarted', registers: [this.registry] });
  readonly windowToEventLatency = new Histogram({
    name: 'ser_window_to_event_latency_seconds',
    help: 'From the last sample of a window to its emotion event',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly emotionUpdates = new Counter({ name: 'ser_emotion_updates_total', help: 'Emotion events published', labelNames: ['speech'] as const, registers: [this.registry] });

  readonly actions = new Counter({
    name: 'ser_actions_total',
    help: 'Action events by rule and outcome (proposed, suppressed, shadow, pending, executed, cancelled, failed)',
    labelNames: ['rule', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly alerts = new Counter({ name: 'ser_alerts_total', help: 'Alerts by rule and state', labelNames: ['rule', 'state'] as const, registers: [this.registry] });
  readonly tapFailures = new Counter({
    name: 'ser_tap_failures_total',
    help: 'Tap attempts that failed (retried or left untapped)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly ariReconnects = new Counter({ name: 'ser_ari_reconnects_total', help: 'ARI WebSocket reconnections', registers: [this.registry] });
  readonly ariConnected = new Gauge({ name: 'ser_ari_connected', help: '1 while the ARI WebSocket is connected', registers: [this.registry] });
  readonly pbxConnected = new Gauge({ name: 'ser_pbx_connected', help: '1 while the switch connection (ARI WebSocket, FreeSWITCH event socket) is up', labelNames: ['pbx'] as const, registers: [this.registry] });
  readonly pbxReconnects = new Counter({ name: 'ser_pbx_reconnects_total', help: 'Reconnections to the switch (ARI WebSocket, FreeSWITCH event socket)', labelNames: ['pbx'] as const, registers: [this.registry] });

  readonly eventStreamConsumers = new Gauge({
    name: 'ser_event_stream_consumers',
    help: 'Connected event-stream consumers',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly eventStreamDrops = new Counter({
    name: 'ser_event_stream_drops_total',
    help: 'Events dropped for consumers that did not keep up',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly eventStreamStalled = new Counter({
    name: 'ser_event_stream_stalled_total',
    help: 'Event-stream consumers disconnected because their socket did not drain',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly consoleConnectionsRefused = new Counter({
    name: 'ser_console_connections_refused_total',
    help: 'Console connections refused with 429 (total or per-address cap)',
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({ name: 'ser_events_total', help: 'Events published on the bus, by type', labelNames: ['type'] as const, registers: [this.registry] });

  /**
   * `processMetrics` adds prom-client's default Node.js series under their standard, unprefixed names
   * (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, ...),
   * the names every Prometheus client library and stock dashboard use; the service turns them on.
   */
  constructor(opts: { processMetrics?: boolean } = {}) {
    // Both transports appear at zero from the start, so a dashboard's rate() has a series to work on.
    for (const reason of ['foreignSource', 'foreignSsrc', 'badPayloadType', 'malformed', 'stray', 'rateCapped']) this.rtpRejected.labels(reason).inc(0);
    for (const transport of ['ws', 'sse']) {
      this.eventStreamConsumers.labels(transport).set(0);
      this.eventStreamDrops.labels(transport).inc(0);
      this.eventStreamStalled.labels(transport).inc(0);
    }
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

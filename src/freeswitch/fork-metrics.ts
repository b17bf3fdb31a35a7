import { Counter, Gauge, type Registry } from 'prom-client';
import type { ForkIngress } from './fork-ingress.js';

/**
 * The audio ingress's counters as Prometheus series on the process's registry (Metrics.registry),
 * read at scrape time from ForkIngress.stats: nothing is counted twice and the hot path only bumps
 * plain numbers. Kept beside the ingress (not in src/metrics/metrics.ts) until the FreeSWITCH adapter
 * is wired into the service.
 */
export function observeForkIngress(registry: Registry, ingress: ForkIngress): void {
  const seen = new Map<string, number>();
  const delta = (key: string, total: number): number => {
    const d = total - (seen.get(key) ?? 0);
    seen.set(key, total);
    return Math.max(0, d);
  };
  new Counter({
    name: 'ser_fork_rejected_total',
    help: 'Audio fork WebSocket connections refused, by reason (badPath, unknownToken, duplicate, capacity, noMetadata, badMetadata)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(ingress.stats.rejected)) this.labels(reason).inc(delta(`r:${reason}`, n));
    },
  });
  new Counter({
    name: 'ser_fork_dropped_total',
    help: 'Audio fork messages dropped, by reason (rateCapped, malformed, tooLarge, text)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(ingress.stats.dropped)) this.labels(reason).inc(delta(`d:${reason}`, n));
    },
  });
  new Counter({
    name: 'ser_fork_frames_total',
    help: 'Audio fork binary frames delivered to call pipelines',
    registers: [registry],
    collect() {
      this.inc(delta('frames', ingress.stats.frames));
    },
  });
  new Gauge({
    name: 'ser_fork_connections',
    help: 'Open audio fork WebSocket connections',
    registers: [registry],
    collect() {
      this.set(ingress.stats.open);
    },
  });
}

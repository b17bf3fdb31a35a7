import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { MODEL, REPO } from '../helpers/paths.js';
import { balanced, metricNames } from './promql.js';

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: string | { query: string } }> };
}
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/ser-ari.json'), 'utf8')) as Dashboard;
const rules = (parseYaml(readFileSync(join(REPO, 'deploy/prometheus/ser-ari.rules.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);

const panels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...panels(p.panels ?? [])]);

/** Every PromQL expression the dashboard runs, with where it is. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const out = panels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q ? /^label_values\((\w+),\s*\w+\)$/.exec(q) : null;
    if (m) out.push({ where: `variable $${v.name}`, expr: m[1]! });
  }
  return out;
}

/** Series Prometheus makes itself for every target. */
const PROMETHEUS_OWN = new Set(['up']);

/** The names a scrape offers: each family's name, and for histograms and summaries their sample names. */
function scrapedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name! + s);
  }
  for (const [, name] of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.add(name!);
  return names;
}

function missing(queries: Array<{ where: string; expr: string }>, scraped: Set<string>): string[] {
  return queries.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !scraped.has(n) && !PROMETHEUS_OWN.has(n)).map((n) => `${n} (${where})`));
}

describe('issue 16: the Grafana dashboard and the Prometheus alert rules use only series the service exports', () => {
  let service: Service;
  let scrape: string;

  beforeAll(async () => {
    const config = configSchema.parse({ http: { port: 0 }, rtp: { ports: '44960-44979' }, model: { path: MODEL } });
    service = await startService({ config, logger: createLogger('silent') });
    const res = await fetch(`${service.consoleUrl}/metrics`);
    expect(res.status).toBe(200);
    scrape = await res.text();
  });
  afterAll(async () => {
    await service?.stop();
  });

  const rulesQueries = (): Array<{ where: string; expr: string }> => rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }));

  it('every metric name in the dashboard exists in a live /metrics scrape', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(30);
    expect(missing(queries, scrapedNames(scrape))).toEqual([]);
  });

  it('every metric name in the alert rules exists in a live /metrics scrape (up is Prometheus\'s own)', () => {
    expect(missing(rulesQueries(), scrapedNames(scrape))).toEqual([]);
  });

  it('the check catches a misspelt name, and knows functions, keywords, labels and ranges from names', () => {
    const scraped = scrapedNames(scrape);
    const bad = [{ where: 'test', expr: 'histogram_quantile(0.95, sum by (le) (rate(ser_inference_latency_second_bucket{instance=~"$instance"}[5m])))' }];
    expect(missing(bad, scraped)).toEqual(['ser_inference_latency_second_bucket (test)']);
    expect(metricNames('sum by (instance, le) (increase(ser_actions_total{kind="hangup"}[1h] offset 1w)) or vector(0) * 1e3 > bool 2')).toEqual(['ser_actions_total']);
    expect(scraped.has('process_cpu_seconds_total')).toBe(true);
    expect(scraped.has('ser_inference_latency_seconds_bucket')).toBe(true);
  });

  it('every expression pairs its brackets; the dashboard panels and rules cover what operators asked for', () => {
    for (const { where, expr } of [...dashboardQueries(), ...rulesQueries()]) expect(balanced(expr), where).toBe(true);
    const titles = panels(dashboard.panels).map((p) => p.title);
    for (const t of ['Calls live', 'Taps failing (15 min)', 'Emotion events per second', 'Inference latency per batch', 'SSRC changes, socket errors, kernel receive-buffer drops', 'Actions by kind and outcome', 'Hang-ups per hour', 'Switch link', 'CPU', 'Memory']) {
      expect(titles, t).toContain(t);
    }
    const alerts = rules.map((r) => r.alert);
    expect(new Set(alerts).size).toBe(alerts.length);
    for (const a of ['SerAriDown', 'SerAriPbxDisconnected', 'SerAriTapsFailing', 'SerAriInferenceLatencyHigh', 'SerAriHangupsPerHourUnusual', 'SerAriRtpReceiveBufferDrops']) {
      expect(alerts, a).toContain(a);
    }
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary.length, r.alert).toBeGreaterThan(10);
      expect(r.annotations.description.length, r.alert).toBeGreaterThan(20);
    }
  });
});

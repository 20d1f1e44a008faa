import { parse } from 'yaml';
import { TestAdapter } from '../helpers/adapter';
import type { TestAuthService } from '../helpers/auth-service';
import { scrape, type Sample } from '../helpers/prom-text';
import { readText } from './deploy-files';
import { ALERT_TESTS_FILE, alertRules, dashboard, dashboardQueries, metricNames, substituteVariables } from './observability-files';
import { closedPort, driveTraffic, startAuthService, trafficConfig } from './observability-traffic';

/**
 * deploy/prometheus/alerts.yaml and deploy/grafana/ext-authz-adapter.json against a real
 * adapter's /metrics, without Prometheus. test/deploy/prometheus.test.ts runs the same queries
 * on a real Prometheus where one is installed.
 */

const rules = alertRules();
const board = dashboard();
const queries = dashboardQueries(board);
const VARIABLES = { datasource: 'prometheus', job: 'ext-authz-adapter', rule: '.*' };

describe('metricNames', () => {
  it.each([
    ['sum by (rule) (rate(ext_authz_checks_total{reason="x"}[5m]))', ['ext_authz_checks_total']],
    ['up{job="a"} == 0', ['up']],
    ['histogram_quantile(0.99, sum by (le) (rate(a_bucket{le!="+Inf"}[1m]))) / b[5m]', ['a_bucket', 'b']],
    // A bare name with no selector is still found when it has one of the adapter's prefixes.
    ['sum(ext_authz_misspelt_total) + process_cpu_seconds_total', ['ext_authz_misspelt_total', 'process_cpu_seconds_total']],
    ['x{rule="ext_authz_checks_total{"}', ['x']],
  ])('%s', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });
});

describe('deploy/prometheus/alerts.yaml', () => {
  it('has the alerts the operations guide documents, each with summary, description, severity and runbook', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'ExtAuthzAdapterDown',
        'ExtAuthzAdapterNotReady',
        'ExtAuthzAuthServiceSlow',
        'ExtAuthzChecksOverloaded',
        'ExtAuthzConfigReloadFailing',
        'ExtAuthzDenyingAuthServiceUnavailable',
        'ExtAuthzFailingOpen',
        'ExtAuthzLogLinesDropped',
      ].sort(),
    );
    for (const r of rules) {
      expect({ alert: r.alert, severity: r.labels?.severity }).toEqual({
        alert: r.alert,
        severity: expect.stringMatching(/^(warning|critical)$/),
      });
      expect({ alert: r.alert, annotations: r.annotations }).toEqual({
        alert: r.alert,
        annotations: {
          summary: expect.stringMatching(/\S/),
          description: expect.stringMatching(/\S/),
          runbook_url: `docs/operations.md#runbook-${r.alert.toLowerCase()}`,
        },
      });
    }
  });

  it('links each alert to its runbook section in docs/operations.md', () => {
    const headings = readText('docs/operations.md').match(/^### Runbook: \S+$/gm) ?? [];
    expect(headings.map((h) => h.slice('### Runbook: '.length)).sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('is tested by alerts.test.yaml: each alert firing once and quiet once', () => {
    const doc = parse(readText(ALERT_TESTS_FILE)) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0), quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert,
        fires: true,
        quiet: true,
      });
    }
  });
});

describe('deploy/grafana/ext-authz-adapter.json', () => {
  it('has a rule variable and the panels operators ask for', () => {
    expect(board.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['rule']));
    const titles = board.panels.map((p) => p.title);
    for (const title of [
      'Checks/s by decision',
      'Deny share by reason',
      'Fail-open share (loose rules)',
      'Auth service latency p50 / p99 by rule',
      'Check latency p50 / p99 by decision',
      'Checks in flight',
      'Cache hit share',
      'Config reloads',
      'Process CPU',
      'Process memory',
    ]) {
      expect(titles).toContain(title);
    }
    for (const p of board.panels)
      if (p.type !== 'row') expect({ panel: p.title, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, targets: true });
  });

  it('filters every per-rule query by $rule and every query by $job', () => {
    for (const q of queries) {
      expect({ panel: q.panel, expr: q.expr }).toEqual({ panel: q.panel, expr: expect.stringContaining('job=~"$job"') });
      if (/ext_authz_(checks_total|auth_)/.test(q.expr))
        expect({ panel: q.panel, expr: q.expr }).toEqual({ panel: q.panel, expr: expect.stringContaining('rule=~"$rule"') });
    }
  });

  it('refuses a query naming a variable the dashboard does not define', () => {
    expect(() => substituteVariables('rate(x{rule=~"$rules"}[$__rate_interval])', VARIABLES, '1m')).toThrow(/unknown variable \$rules/);
    expect(substituteVariables('rate(x{rule=~"${rule}"}[$__rate_interval])', VARIABLES, '1m')).toBe('rate(x{rule=~".*"}[1m])');
  });
});

describe('every metric the alerts and the dashboard read, on a real adapter', () => {
  let auth: TestAuthService;
  let adapter: TestAdapter;
  let exposed: Set<string>;

  beforeAll(async () => {
    auth = await startAuthService();
    adapter = await TestAdapter.start(trafficConfig(auth.url, await closedPort()));
    await driveTraffic(adapter.client);
    await adapter.server.reload();
    const samples: Sample[] = await scrape(adapter.server.adminPort);
    exposed = new Set(samples.map((s) => s.name));
  });

  afterAll(async () => {
    await adapter?.close();
    await auth?.close();
  });

  it('exposes every ext_authz_* name an alert reads', () => {
    for (const r of rules) {
      for (const name of metricNames(r.expr).filter((n) => n.startsWith('ext_authz_'))) {
        expect({ alert: r.alert, name, exposed: exposed.has(name) }).toEqual({ alert: r.alert, name, exposed: true });
      }
    }
  });

  it('exposes every name a dashboard query reads', () => {
    for (const q of queries) {
      const names = metricNames(substituteVariables(q.expr, VARIABLES, '1m'));
      expect(names.length).toBeGreaterThan(0);
      for (const name of names)
        expect({ panel: q.panel, name, exposed: exposed.has(name) }).toEqual({ panel: q.panel, name, exposed: true });
    }
  });
});

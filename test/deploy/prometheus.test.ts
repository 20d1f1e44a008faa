import { httpGet, parsePrometheusText } from '../helpers/prom-text';
import { CheckClient } from '../helpers/check-client';
import { CliProcess } from '../helpers/cli-process';
import { writeConfig } from '../helpers/adapter';
import type { TestAuthService } from '../helpers/auth-service';
import { PrometheusProcess, prometheusTools, promtool } from '../helpers/prometheus';
import { until } from '../helpers/until';
import { repoFile } from './deploy-files';
import { ALERTS_FILE, alertRules, dashboard, dashboardQueries, metricNames, substituteVariables } from './observability-files';
import { closedPort, driveTraffic, startAuthService, trafficConfig } from './observability-traffic';

/**
 * The alerts and the dashboard on a real Prometheus (Debian's `prometheus` package) scraping the
 * real adapter (the bin, as a child process) under a little traffic: every expression must parse
 * and evaluate, and every adapter metric it names must be in the adapter's /metrics. Without
 * `prometheus`/`promtool` on PATH these tests are skipped and say why, unless CI=true, where a
 * missing tool fails the run.
 */

const JOB = 'ext-authz-adapter';
const tools = prometheusTools();
const run = tools.ok ? describe : describe.skip;

if (!tools.ok) {
  if (process.env.CI === 'true') {
    test(`Prometheus is installed (CI=true): ${tools.why}`, () => {
      throw new Error(`CI=true needs prometheus and promtool: ${tools.why}`);
    });
  } else {
    console.warn(`test/deploy/prometheus.test.ts skipped: ${tools.why}. CI=true makes this a failure.`);
    test.skip(`real Prometheus checks (skipped: ${tools.why})`, () => undefined);
  }
}

run('promtool', () => {
  it('check rules accepts deploy/prometheus/alerts.yaml', () => {
    const out = promtool(['check', 'rules', 'alerts.yaml'], repoFile('deploy/prometheus'));
    expect(out).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('test rules passes deploy/prometheus/alerts.test.yaml', () => {
    const out = promtool(['test', 'rules', 'alerts.test.yaml'], repoFile('deploy/prometheus'));
    expect(out).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });
});

run('a real Prometheus scraping the adapter', () => {
  let auth: TestAuthService;
  let adapter: CliProcess;
  let client: CheckClient;
  let prometheus: PrometheusProcess | undefined;
  let exposed: Set<string>;

  beforeAll(async () => {
    auth = await startAuthService();
    adapter = CliProcess.serve(writeConfig(trafficConfig(auth.url, await closedPort())));
    const { grpcPort, adminPort } = await adapter.serving();
    client = new CheckClient(`127.0.0.1:${grpcPort}`);
    await driveTraffic(client);
    adapter.child.kill('SIGHUP');
    await adapter.waitForLine((l) => l.msg === 'config reloaded');
    const metrics = await httpGet(adminPort, '/metrics');
    exposed = new Set(parsePrometheusText(metrics.body).map((s) => s.name));

    prometheus = await PrometheusProcess.start({ job: JOB, targets: [`127.0.0.1:${adminPort}`], ruleFiles: [repoFile(ALERTS_FILE)] });
    const prom = prometheus;
    // Two scrapes of the adapter's series, so rate() has a pair of samples, and one pass of the rules.
    await until(
      'two scrapes of the adapter and one evaluation of every alert rule',
      async () => {
        const scraped = await prom.query(`min(count_over_time(ext_authz_checks_total{job="${JOB}"}[1m])) >= 2`);
        if (scraped.status !== 'success' || scraped.result.length === 0) return false;
        const groups = await prom.get<{ groups: Array<{ rules: Array<{ lastEvaluation: string }> }> }>('/api/v1/rules');
        return groups.groups.flatMap((g) => g.rules).every((r) => !r.lastEvaluation.startsWith('0001-'));
      },
      30_000,
    );
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await prometheus?.stop();
    if (adapter) {
      adapter.child.kill('SIGTERM');
      const timer = setTimeout(() => void adapter.kill(), 15_000);
      await adapter.exited;
      clearTimeout(timer);
    }
    await auth?.close();
  }, 30_000);

  it('scrapes the adapter: up is 1', async () => {
    const up = await prometheus!.query(`up{job="${JOB}"}`);
    expect(up).toEqual({
      status: 'success',
      resultType: 'vector',
      result: [expect.objectContaining({ value: [expect.any(Number), '1'] })],
    });
  });

  it('loaded every alert rule and evaluated it without error', async () => {
    const data = await prometheus!.get<{ groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }>(
      '/api/v1/rules',
    );
    const loaded = data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(
      alertRules()
        .map((r) => r.alert)
        .sort(),
    );
    for (const r of loaded)
      expect({ rule: r.name, health: r.health, lastError: r.lastError ?? '' }).toEqual({ rule: r.name, health: 'ok', lastError: '' });
  });

  it('evaluates every alert expression, and the adapter exposes every ext_authz_* name in it', async () => {
    for (const r of alertRules()) {
      const result = await prometheus!.query(r.expr);
      expect({ alert: r.alert, status: result.status }).toEqual({ alert: r.alert, status: 'success' });
      for (const name of metricNames(r.expr).filter((n) => n.startsWith('ext_authz_'))) {
        expect({ alert: r.alert, name, exposed: exposed.has(name) }).toEqual({ alert: r.alert, name, exposed: true });
      }
    }
  });

  it('evaluates every dashboard query to data, with $job, $rule and $__rate_interval substituted', async () => {
    const board = dashboard();
    const values = { datasource: 'prometheus', job: JOB, rule: '.*' };
    for (const q of dashboardQueries(board)) {
      const expr = substituteVariables(q.expr, values, '1m');
      const result = await prometheus!.query(expr);
      // Every series the dashboard reads exists after the traffic, so an empty answer means a wrong name or label.
      expect({ panel: q.panel, refId: q.refId, result }).toEqual({
        panel: q.panel,
        refId: q.refId,
        result: expect.objectContaining({ status: 'success', result: expect.arrayContaining([expect.anything()]) }),
      });
      for (const name of metricNames(expr))
        expect({ panel: q.panel, name, exposed: exposed.has(name) }).toEqual({ panel: q.panel, name, exposed: true });
    }
  });

  it('answers the dashboard variables: every job and rule the adapter reports', async () => {
    const jobs = await prometheus!.get<string[]>(`/api/v1/label/job/values?match[]=ext_authz_checks_total`);
    expect(jobs).toEqual([JOB]);
    const rules = await prometheus!.get<string[]>(`/api/v1/label/rule/values?match[]=ext_authz_checks_total{job="${JOB}"}`);
    expect(rules.sort()).toEqual(['api', 'closed', 'open']);
  });

  it('refuses an expression that does not parse (so the checks above can fail)', async () => {
    const result = await prometheus!.query('sum by (rule (rate(ext_authz_checks_total[1m]))');
    expect(result).toEqual(expect.objectContaining({ status: 'error', errorType: 'bad_data' }));
  });
});

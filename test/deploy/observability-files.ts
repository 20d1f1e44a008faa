import { readText, readYaml } from './deploy-files';

/** Test-only readers for deploy/prometheus and deploy/grafana, shared by the observability suites. */

export const ALERTS_FILE = 'deploy/prometheus/alerts.yaml';
export const ALERT_TESTS_FILE = 'deploy/prometheus/alerts.test.yaml';
export const DASHBOARD_FILE = 'deploy/grafana/ext-authz-adapter.json';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = readYaml(ALERTS_FILE) as { groups: Array<{ name: string; rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: Array<{ expr: string; refId: string }>;
}

export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { query: string };
  readonly includeAll?: boolean;
  readonly allValue?: string;
}

export interface Dashboard {
  readonly title: string;
  readonly uid: string;
  readonly panels: Panel[];
  readonly templating: { list: TemplateVariable[] };
}

export function dashboard(): Dashboard {
  return JSON.parse(readText(DASHBOARD_FILE)) as Dashboard;
}

export function dashboardQueries(d: Dashboard = dashboard()): Array<{ panel: string; refId: string; expr: string }> {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
}

/**
 * A dashboard expression as Prometheus would receive it from Grafana: `$__rate_interval` as
 * `rateInterval`, each template variable as `values[name]`. Throws on a variable left over,
 * so a query naming a variable the dashboard does not define fails.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>, rateInterval: string): string {
  const out = expr.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    if (name === '__rate_interval') return rateInterval;
    const value = values[name];
    if (value === undefined) throw new Error(`${expr}: unknown variable ${whole}`);
    return value;
  });
  return out;
}

/**
 * Metric names a PromQL expression selects: an identifier followed by `{` or `[`, or any
 * `ext_authz_`, `process_` or `nodejs_` identifier wherever it stands (so a bare misspelt name is
 * caught too). Label names inside braces are skipped; strings are blanked first.
 */
export function metricNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, (m) => `{${' '.repeat(m.length - 2)}}`);
  const names = new Set<string>();
  for (const m of code.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)) names.add(m[1]);
  for (const m of code.matchAll(/\b((?:ext_authz|process|nodejs)_[a-zA-Z0-9_:]*)/g)) names.add(m[1]);
  return [...names].sort();
}

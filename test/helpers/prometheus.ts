import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { until } from './until';

/**
 * Where `prometheus` and `promtool` are, or why they cannot be used. Debian's `prometheus`
 * package ships both; `.ci/run` installs it.
 */
export function prometheusTools(): { ok: true } | { ok: false; why: string } {
  const missing = ['prometheus', 'promtool'].filter((bin) => {
    const run = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return run.error !== undefined || run.status !== 0;
  });
  if (missing.length === 0) return { ok: true };
  return { ok: false, why: `${missing.join(' and ')} not found on PATH (apt-get install -y prometheus)` };
}

export function promtool(args: readonly string[], cwd: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', [...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}${run.error ? String(run.error) : ''}` };
}

/** One instant vector or scalar from /api/v1/query. */
export type QueryResult =
  | { readonly status: 'success'; readonly resultType: string; readonly result: unknown[] }
  | { readonly status: 'error'; readonly errorType: string; readonly error: string };

async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A real Prometheus server on 127.0.0.1, its own config and TSDB in a temp dir, scraping
 * `targets` every second as job `job` and evaluating `ruleFiles`.
 */
export class PrometheusProcess {
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => this.output.push(c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => this.output.push(c));
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
  }

  static async start(options: { job: string; targets: readonly string[]; ruleFiles: readonly string[] }): Promise<PrometheusProcess> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ext-authz-prometheus-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(options.job)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(options.targets)}`,
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'prometheus.yml'), config);
    const port = await freeLoopbackPort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const prom = new PrometheusProcess(child, dir, port);
    try {
      await until(
        'Prometheus to answer /-/ready',
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${prom.log}`);
          return fetch(`${prom.url}/-/ready`).then(
            (r) => r.arrayBuffer().then(() => r.ok),
            () => false,
          );
        },
        20_000,
      );
    } catch (err) {
      await prom.stop();
      throw err;
    }
    return prom;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.join('');
  }

  async query(expr: string): Promise<QueryResult> {
    const res = await fetch(`${this.url}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: expr }),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json()) as {
      status: string;
      data?: { resultType: string; result: unknown };
      errorType?: string;
      error?: string;
    };
    if (json.status === 'success' && json.data) {
      const result = json.data.result;
      return { status: 'success', resultType: json.data.resultType, result: Array.isArray(result) ? result : [result] };
    }
    return { status: 'error', errorType: json.errorType ?? String(res.status), error: json.error ?? '' };
  }

  async get<T>(apiPath: string): Promise<T> {
    const res = await fetch(`${this.url}${apiPath}`, { signal: AbortSignal.timeout(10_000) });
    const json = (await res.json()) as { status: string; data: T; error?: string };
    if (json.status !== 'success') throw new Error(`${apiPath}: ${json.error}`);
    return json.data;
  }

  /** SIGTERM, then SIGKILL if it has not exited within 10 s; removes its temp dir. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

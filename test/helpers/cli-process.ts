import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';

const ROOT = path.resolve(__dirname, '../..');
// Inside node_modules, so the build resolves the repository's packages; keyed by the source, so an
// unchanged tree is built once across test files and runs, and dist/ is never touched.
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'ext-authz-adapter-cli');

function sourceHash(): string {
  const hash = createHash('sha256');
  const files = ['tsconfig.json', 'tsconfig.build.json', 'bin/ext-authz-adapter.js'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) files.push(rel);
    }
  };
  walk('src');
  for (const f of files)
    hash
      .update(f)
      .update('\0')
      .update(readFileSync(path.join(ROOT, f)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * The real bin (`bin/ext-authz-adapter.js`) next to a fresh `dist/` compiled from src, for tests
 * that run the CLI as a child process. Transpiles only (`--noCheck`): type errors are the
 * typecheck's job, and another engineer's half-written file must not block these tests.
 */
export function builtCli(): string {
  const dir = path.join(CACHE, sourceHash());
  const bin = path.join(dir, 'bin', 'ext-authz-adapter.js');
  if (existsSync(bin)) return bin;
  const work = `${dir}.${process.pid}.${Date.now()}`;
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--noCheck', '--outDir', path.join(work, 'dist')],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  mkdirSync(path.join(work, 'bin'), { recursive: true });
  copyFileSync(path.join(ROOT, 'bin', 'ext-authz-adapter.js'), path.join(work, 'bin', 'ext-authz-adapter.js'));
  try {
    renameSync(work, dir);
  } catch {
    // Another test file built the same tree first; theirs is identical.
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

export interface LogLine {
  readonly msg: string;
  readonly pid: number;
  readonly at: number;
  readonly [key: string]: unknown;
}

/** `ext-authz-adapter serve --config FILE` as a child process, its JSON log lines collected. */
export class CliProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private partial = '';

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.take(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  }

  static serve(configFile: string, env: NodeJS.ProcessEnv = {}): CliProcess {
    return new CliProcess(
      spawn(process.execPath, [builtCli(), 'serve', '--config', configFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      }),
    );
  }

  /** Stops reading stdout: once the pipe is full, the process's writes to it block, as with a stalled log collector. */
  stopReadingStdout(): void {
    this.child.stdout?.removeAllListeners('data');
    this.child.stdout?.pause();
  }

  /** The process's exit, or undefined if it is still running after `ms`. */
  async exitWithin(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number } | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
    clearTimeout(timer);
    return result;
  }

  private take(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      try {
        this.lines.push({ ...(JSON.parse(line) as LogLine), at: Date.now() });
      } catch {
        this.stderr.push(line);
      }
    }
  }

  /** The first log line satisfying `match`, waiting up to `timeoutMs`. */
  async waitForLine(match: (l: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (Date.now() > until || this.child.exitCode !== null) {
        throw new Error(`no matching log line; stderr: ${this.stderr.join('')}; log: ${this.lines.map((l) => l.msg).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Ports (and worker pids, with `workers: N`) from the "serving" line of the process that owns the admin port. */
  async serving(): Promise<{ grpcPort: number; adminPort: number; pids: number[] }> {
    const line = await this.waitForLine((l) => l.msg === 'ext-authz-adapter serving' && (l.adminPort as number) > 0);
    return { grpcPort: line.grpcPort as number, adminPort: line.adminPort as number, pids: (line.pids as number[] | undefined) ?? [] };
  }

  /** SIGKILL if still running; for cleanup after a failed test. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

type HealthCheckFn = (
  req: { service: string },
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: { status: string }) => void,
) => void;

/** A real grpc.health.v1 client. */
export class HealthClient {
  private readonly raw: grpc.Client & { Check: HealthCheckFn };

  constructor(address: string) {
    const def = protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    this.raw = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Check: HealthCheckFn;
    };
  }

  status(service = ''): Promise<string> {
    return new Promise((resolve, reject) => {
      this.raw.Check({ service }, { deadline: Date.now() + 2000 }, (err, res) => (err ? reject(err) : resolve(res.status)));
    });
  }

  close(): void {
    this.raw.close();
  }
}

import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import {
  createAdminServer,
  createLogDropCounter,
  createReloadCounter,
  listen,
  type Logger,
  redactConfig,
  SharedRender,
} from '../observability';
import type { CompiledConfig } from '../check';
import { ConfigReloader } from './config-reloader';
import { exitAfterLogFlush } from './exit-after-flush';
import { HOLD_WORKER_ENV, isMessage, type FromWorker, type MetricsJson, type ToWorker } from './ipc-protocol';
import { watchConfigFile, type ConfigWatch } from './watch-config';

/**
 * `workers: N` runs N worker processes that share the gRPC port through node:cluster (the
 * primary accepts connections and hands them out round-robin). The primary owns everything
 * that must happen once: it validates the config and counts reloads, sends workers the exact
 * text it validated (so a worker never reads a file the primary has not checked), restarts
 * workers that die, serves the admin port and aggregates the workers' metrics.
 */

const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that lived this long was healthy; the next restart starts the backoff over. */
const HEALTHY_LIFETIME_MS = 10_000;
const METRICS_TIMEOUT_MS = 3_000;
/** Past drainDelay + shutdown.timeout, how long the primary waits for workers before killing them. */
const EXIT_GRACE_MS = 5_000;

interface WorkerState {
  readonly worker: Worker;
  readonly startedAt: number;
  ready: boolean;
  /**
   * Pings sent since the worker last sent anything; its event loop answers pings, so a hung one
   * falls silent. Undefined until its first message: loading the code is not timed (a death then
   * is seen as an exit). Counting pings rather than reading the clock means a primary that was
   * itself stalled (a large config to parse) never blames its workers for the time it lost.
   */
  unanswered?: number;
  /** Killed for missing its heartbeat; its exit is reported as such. */
  hung: boolean;
}

interface MetricsRequest {
  readonly pending: Set<number>;
  readonly results: MetricsJson[];
  readonly done: (err?: Error) => void;
}

/** The primary process of a `workers: N` deployment. */
export class WorkerSupervisor {
  private readonly registry = new Registry();
  private readonly reloads = createReloadCounter(this.registry);
  private readonly restarts = new Counter({
    name: 'ext_authz_worker_restarts_total',
    help: 'Worker processes restarted after they died.',
    registers: [this.registry],
  });
  private readonly logLinesDropped = createLogDropCounter(this.registry);
  private readonly workers = new Map<number, WorkerState>();
  /** One more per accepted reload; workers report the generation they serve. */
  private generation = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly admin: http.Server | undefined;
  private readonly metricsRequests = new Map<number, MetricsRequest>();
  private nextMetricsId = 0;
  private watcher: ConfigWatch | undefined;
  private readonly reloader: ConfigReloader;
  private restartDelayMs = RESTART_MIN_MS;
  private draining = false;
  private started = false;
  private startupFailed: ((err: Error) => void) | undefined;
  private allReady: (() => void) | undefined;
  private allExited: (() => void) | undefined;
  private failedExits = 0;
  grpcPort = 0;
  adminPort = 0;

  constructor(
    readonly configFile: string,
    private text: string,
    /** The config in force; the primary calls no auth service, so it holds no pool. */
    private config: CompiledConfig,
    readonly logger: Logger,
  ) {
    this.reloader = new ConfigReloader(configFile, text, config, logger, this.reloads, (next, nextText) => {
      this.text = nextText;
      this.config = next;
      this.generation++;
      this.logger.level = next.settings.log.level;
      for (const { worker } of this.workers.values()) {
        this.send(worker, { type: 'ext-authz:reload', text: nextText, generation: this.generation });
      }
    });
    const aliveWorkers = (): number => [...this.workers.values()].filter((w) => w.ready).length;
    new Gauge({
      name: 'ext_authz_workers',
      help: 'Worker processes serving.',
      registers: [this.registry],
      collect(): void {
        this.set(aliveWorkers());
      },
    });
    const metricsText = new SharedRender(() => this.aggregateMetrics());
    this.admin = config.settings.admin.address
      ? createAdminServer({
          metrics: () => metricsText.get(),
          metricsContentType: this.registry.contentType,
          ready: () => !this.draining && aliveWorkers() > 0,
          config: () => (this.config.settings.admin.exposeConfig ? redactConfig(this.config.settings) : undefined),
        })
      : undefined;
    cluster.on('message', (worker, message: unknown) => this.onMessage(worker, message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
  }

  /** Opens the admin port, forks the workers and resolves once every one of them serves. */
  async start(): Promise<void> {
    if (this.admin) this.adminPort = await listen(this.admin, this.config.settings.admin.address);
    const startup = new Promise<void>((resolve, reject) => {
      this.allReady = resolve;
      this.startupFailed = reject;
    });
    this.startHeartbeat();
    for (let i = 0; i < this.config.settings.workers; i++) this.fork();
    try {
      await startup;
    } catch (err) {
      this.draining = true;
      clearInterval(this.heartbeat);
      for (const { worker } of this.workers.values()) worker.process.kill('SIGKILL');
      if (this.admin?.listening) this.admin.close();
      throw err;
    }
    this.started = true;
    this.startupFailed = undefined;
    this.logger.info(
      { grpcPort: this.grpcPort, adminPort: this.adminPort, workers: this.workers.size, pids: this.pids() },
      'ext-authz-adapter serving',
    );
    this.watcher = watchConfigFile(this.configFile, this.logger, (text) => void this.reloader.reload({ text, onlyIfChanged: true }));
    process.on('SIGHUP', () => void this.reloader.reload());
    // Every signal is handled: with no handler left, a second one would kill the primary mid-drain.
    process.on('SIGTERM', () => void this.stop('SIGTERM'));
    process.on('SIGINT', () => void this.stop('SIGINT'));
  }

  countDroppedLogLine(): void {
    this.logLinesDropped.inc();
  }

  /**
   * Pings every worker each `workerHeartbeat.interval`; one that has answered none of the pings
   * sent over `workerHeartbeat.timeout` (stopped, or its event loop blocked) stops counting as
   * ready at once and is killed, and its exit starts a replacement like any other death.
   */
  private startHeartbeat(): void {
    const { intervalMs, timeoutMs } = this.config.settings.workerHeartbeat;
    const missesAllowed = Math.ceil(timeoutMs / intervalMs);
    this.heartbeat = setInterval(() => {
      for (const state of this.workers.values()) {
        if (state.hung || state.unanswered === undefined) continue;
        if (state.unanswered >= missesAllowed) {
          state.hung = true;
          state.ready = false;
          this.logger.error(
            { pid: state.worker.process.pid, unansweredPings: state.unanswered },
            'worker missed its heartbeat; reported not ready and replaced',
          );
          state.worker.process.kill('SIGKILL');
          continue;
        }
        state.unanswered++;
        this.send(state.worker, { type: 'ext-authz:ping' });
      }
    }, intervalMs);
  }

  private pids(): number[] {
    return [...this.workers.values()].map((w) => w.worker.process.pid ?? 0);
  }

  private fork(): void {
    const worker = cluster.fork();
    // A message sent to a worker that has just exited, before its 'disconnect' is seen here,
    // fails with EPIPE as an 'error' event: without a listener that would take the primary, and
    // every worker with it, down. The 'exit' that follows replaces the worker.
    worker.on('error', (err: Error) => this.logger.warn({ pid: worker.process.pid, err }, 'message to a worker failed'));
    this.workers.set(worker.id, { worker, startedAt: Date.now(), ready: false, hung: false });
  }

  private send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  private onMessage(worker: Worker, message: unknown): void {
    if (!isMessage(message)) return;
    const state = this.workers.get(worker.id);
    if (state) state.unanswered = 0;
    const m = message as FromWorker;
    switch (m.type) {
      case 'ext-authz:hello':
        return this.send(worker, { type: 'ext-authz:config', text: this.text, generation: this.generation });
      case 'ext-authz:held':
        this.logger.info({ pid: worker.process.pid }, `worker held before serving (${HOLD_WORKER_ENV})`);
        return;
      case 'ext-authz:pong':
        return;
      case 'ext-authz:ready':
        if (state?.hung) return;
        if (state) state.ready = true;
        this.grpcPort = m.grpcPort;
        // Reloads sent while it started found no handler yet: bring it up to the config in force.
        if (m.generation !== this.generation) {
          this.logger.info(
            { pid: worker.process.pid, had: m.generation, current: this.generation },
            'worker started on an older config; sending the current one',
          );
          this.send(worker, { type: 'ext-authz:reload', text: this.text, generation: this.generation });
        }
        if (this.started) this.logger.info({ pid: worker.process.pid }, 'replacement worker serving');
        else if ([...this.workers.values()].every((w) => w.ready)) this.allReady?.();
        return;
      case 'ext-authz:metrics':
        return this.onMetrics(worker, m);
      default:
        return;
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const state = this.workers.get(worker.id);
    this.workers.delete(worker.id);
    for (const request of this.metricsRequests.values()) {
      if (request.pending.delete(worker.id) && request.pending.size === 0) request.done();
    }
    if (this.draining) {
      if (code !== 0 && !state?.hung) this.failedExits++;
      if (this.workers.size === 0) this.allExited?.();
      return;
    }
    const pid = worker.process.pid;
    if (!this.started) {
      this.startupFailed?.(new Error(`worker ${pid} exited (code ${code}, signal ${signal}) before it could serve`));
      return;
    }
    const lived = state ? Date.now() - state.startedAt : 0;
    if (lived >= HEALTHY_LIFETIME_MS) this.restartDelayMs = RESTART_MIN_MS;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, RESTART_MAX_MS);
    this.logger.warn({ pid, code, signal, hung: state?.hung === true, restartInMs: delay }, 'worker died; starting a replacement');
    setTimeout(() => {
      if (this.draining) return;
      this.restarts.inc();
      this.fork();
    }, delay);
  }

  /** Readiness goes to 503 at once; each worker drains on its own; exit 0 once all exited cleanly. */
  private async stop(signal: string): Promise<void> {
    if (this.draining) {
      this.logger.info({ signal }, 'already draining');
      return;
    }
    this.draining = true;
    clearInterval(this.heartbeat);
    this.logger.info({ signal }, 'draining');
    this.watcher?.close();
    await this.reloader.stop();
    const exited = new Promise<void>((resolve) => (this.allExited = resolve));
    for (const { worker } of this.workers.values()) this.send(worker, { type: 'ext-authz:shutdown' });
    if (this.workers.size === 0) this.allExited?.();
    const { drainDelayMs, timeoutMs } = this.config.settings.shutdown;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainDelayMs + timeoutMs + EXIT_GRACE_MS))),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      this.logger.error({ pids: this.pids() }, 'workers did not exit in time; killing them');
      for (const { worker } of this.workers.values()) worker.process.kill('SIGKILL');
    }
    if (this.admin?.listening) await new Promise<void>((resolve) => this.admin?.close(() => resolve()));
    const ok = inTime && this.failedExits === 0;
    this.logger.info({ workersFailed: this.failedExits }, 'stopped');
    await exitAfterLogFlush(this.logger, ok ? 0 : 1, this.config.settings.shutdown.logFlushTimeoutMs);
  }

  /** The workers' registries summed by prom-client's AggregatorRegistry, plus the primary's own. */
  private aggregateMetrics(): Promise<string> {
    const id = this.nextMetricsId++;
    const targets = [...this.workers.values()].filter((w) => w.ready && w.worker.isConnected());
    return new Promise<MetricsJson[]>((resolve, reject) => {
      const results: MetricsJson[] = [];
      const timer = setTimeout(() => done(new Error(`workers did not answer within ${METRICS_TIMEOUT_MS}ms`)), METRICS_TIMEOUT_MS);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.metricsRequests.delete(id);
        if (err) reject(err);
        else resolve(results);
      };
      const request: MetricsRequest = { pending: new Set(targets.map((w) => w.worker.id)), results, done };
      this.metricsRequests.set(id, request);
      if (targets.length === 0) return done();
      for (const { worker } of targets) this.send(worker, { type: 'ext-authz:metrics', id });
    }).then(async (perWorker) => {
      const own = await this.registry.getMetricsAsJSON();
      return AggregatorRegistry.aggregate([...perWorker, own]).metrics();
    });
  }

  private onMetrics(worker: Worker, m: Extract<FromWorker, { type: 'ext-authz:metrics' }>): void {
    const request = this.metricsRequests.get(m.id);
    if (!request || !request.pending.delete(worker.id)) return;
    if (m.error || !m.metrics) return request.done(new Error(`worker ${worker.process.pid}: ${m.error ?? 'no metrics'}`));
    request.results.push(m.metrics);
    if (request.pending.size === 0) request.done();
  }
}

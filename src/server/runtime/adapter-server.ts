import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import {
  createAdminServer,
  createLogger,
  listen,
  type Logger,
  Metrics,
  redactConfig,
  SharedRender,
  startTracing,
  type Tracing,
  type TracingEnv,
} from '../observability';
import { compileConfig, type CompiledConfig, createCheckHandler, readConfigText, type ServingConfig } from '../check';
import { attachClients, type LoadedConfig } from './attach-clients';
import { ConfigLeases } from './config-leases';
import { logBreakerTransitions } from './breaker-log';
import { ConfigReloader } from './config-reloader';
import { exitAfterLogFlush } from './exit-after-flush';
import { createGrpcCredentials, tlsMode, type GrpcCredentials } from './grpc-credentials';
import { InFlightBytes } from './in-flight-bytes';
import { AUTHORIZATION_SERVICE_NAME, authorizationService, decodeCheckRequest, encodeCheckResponse } from '../protos';
import { watchConfigFile, type ConfigWatch, type WatchOptions } from './watch-config';

export interface StartOptions {
  readonly configFile: string;
  /** The config text, when already read (cluster workers get the text the primary validated). */
  readonly configText?: string;
  /** Reload when the file changes. */
  readonly watch?: boolean;
  /** How the watch waits for a changed file to settle (watch-config.ts); tests pass their own. */
  readonly settle?: WatchOptions['settle'];
  /** Install SIGTERM/SIGINT (drain, then exit 0) and SIGHUP (reload) handlers. */
  readonly handleSignals?: boolean;
  /** Serve /healthz, /readyz, /metrics and /config at admin.address (default true; cluster workers leave it to the primary). */
  readonly admin?: boolean;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Monotonic clock in ms for the decision caches and the circuit breakers; tests pass their own. */
  readonly clock?: () => number;
  /** `configText` already compiled by the caller, so startup does not compile it twice. */
  readonly preloaded?: CompiledConfig;
  /** Trace each Check as these settings (read from OTEL_* variables) say; no tracing when absent. */
  readonly tracing?: TracingEnv;
}

const HEALTH_SERVICES = ['', AUTHORIZATION_SERVICE_NAME];
/** Longest wait, once no check is in flight, for clients to take the last answers and close. */
const FLUSH_GRACE_MS = 1000;

/** The adapter process: gRPC Check + Health, the admin server, reload and drain. */
export class AdapterServer {
  private config: LoadedConfig;
  private readonly leases: ConfigLeases;
  private readonly grpcServer: grpc.Server;
  private readonly grpcCredentials: GrpcCredentials;
  private readonly health: HealthImplementation;
  private readonly admin: http.Server | undefined;
  private readonly inFlightBytes = new InFlightBytes();
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private draining = false;
  private bound = false;
  private watcher: ConfigWatch | undefined;
  private readonly reloader: ConfigReloader;
  private stopping: Promise<void> | undefined;
  grpcPort = 0;
  adminPort = 0;

  private constructor(
    readonly configFile: string,
    text: string,
    initial: LoadedConfig,
    readonly logger: Logger,
    private readonly ownLogger: boolean,
    readonly metrics: Metrics,
    serveAdmin: boolean,
    private readonly clock: (() => number) | undefined,
    private readonly tracing: Tracing | undefined,
  ) {
    this.config = initial;
    logBreakerTransitions(initial, logger);
    // Closing waits for the requests already given to the pool; no check can add more by then.
    this.leases = new ConfigLeases(initial, (client) =>
      client.close().catch((err: unknown) => this.logger.warn({ err }, 'closing a retired auth service pool failed')),
    );
    this.reloader = new ConfigReloader(configFile, text, initial.compiled, logger, metrics.reloads, (next) => this.swapIn(next));
    // Fixed when the server is made: a reload of grpc.maxRequestBytes needs a restart.
    this.grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': initial.compiled.settings.grpc.maxRequestBytes });
    this.grpcCredentials = createGrpcCredentials(initial.compiled.grpcTls);
    this.health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])));
    this.health.addToServer(this.grpcServer);
    this.grpcServer.addService(authorizationService(), {
      Check: createCheckHandler({
        config: () => this.config,
        logger,
        metrics,
        tracer: tracing?.tracer,
        track: (delta, config) => this.track(delta, config),
        admit: (bytes) => this.inFlightBytes.admit(bytes, this.config.settings.grpc.maxInFlightBytes),
        release: (bytes) => this.inFlightBytes.release(bytes),
        decode: decodeCheckRequest,
        encode: encodeCheckResponse,
      }),
    });
    metrics.reportInFlight(() => this.inFlight);
    metrics.reportCacheBytes(() => this.config.rules);
    metrics.reportInFlightBytes(() => this.inFlightBytes.held);
    const metricsText = new SharedRender(() => metrics.registry.metrics());
    this.admin =
      serveAdmin && initial.settings.admin.address
        ? createAdminServer({
            metrics: () => metricsText.get(),
            metricsContentType: metrics.registry.contentType,
            ready: () => this.ready,
            config: () => (this.config.settings.admin.exposeConfig ? redactConfig(this.config.settings) : undefined),
          })
        : undefined;
  }

  /**
   * Loads the config (refusing an invalid one) and opens the admin port, which answers /readyz
   * with 503 until `listen()` has bound the gRPC port.
   */
  static async create(options: StartOptions): Promise<AdapterServer> {
    const text = options.configText ?? (await readConfigText(options.configFile));
    const config = attachClients(options.preloaded ?? (await compileConfig(text, options.configFile)), undefined, options.clock);
    const metrics = options.metrics ?? new Metrics();
    const logger = options.logger ?? createLogger(config.settings.log.level, () => metrics.countDroppedLogLine());
    const tracing = options.tracing
      ? await startTracing(options.tracing, logger, (reason, count) => metrics.countDroppedSpans(reason, count))
      : undefined;
    const server = new AdapterServer(
      options.configFile,
      text,
      config,
      logger,
      options.logger === undefined,
      metrics,
      options.admin ?? true,
      options.clock,
      tracing,
    );
    try {
      if (server.admin) server.adminPort = await listen(server.admin, config.settings.admin.address);
    } catch (err) {
      await server.destroyPools();
      void tracing?.shutdown();
      throw err;
    }
    return server;
  }

  /** `create`, then `listen`, then the file watch and signal handlers asked for. */
  static async start(options: StartOptions): Promise<AdapterServer> {
    const server = await AdapterServer.create(options);
    try {
      await server.listen();
    } catch (err) {
      await server.close();
      throw err;
    }
    if (options.watch) server.watchFile(options.settle);
    if (options.handleSignals) server.handleSignals();
    return server;
  }

  /** Binds the gRPC port and reports SERVING on health and /readyz. */
  async listen(): Promise<void> {
    const { settings } = this.config;
    this.grpcPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(settings.grpc.address, this.grpcCredentials.credentials, (err, port) =>
        err ? reject(new Error(`grpc.address ${settings.grpc.address}: cannot listen: ${err.message}`)) : resolve(port),
      );
    });
    this.bound = true;
    for (const s of HEALTH_SERVICES) this.health.setStatus(s, 'SERVING');
    this.logger.info(
      { grpcPort: this.grpcPort, adminPort: this.adminPort, rules: this.config.rules.length, tls: tlsMode(this.config.compiled.grpcTls) },
      'ext-authz-adapter serving',
    );
  }

  get current(): LoadedConfig {
    return this.config;
  }

  get checksInFlight(): number {
    return this.inFlight;
  }

  /** Config loaded, gRPC port bound, not draining. */
  get ready(): boolean {
    return this.bound && !this.draining;
  }

  private track(delta: 1 | -1, config: ServingConfig): void {
    if (delta === 1) this.leases.acquire(config);
    else this.leases.release(config);
    this.inFlight += delta;
    if (this.inFlight === 0 && this.idle) this.idle();
  }

  /**
   * Validates the new config completely, then swaps it in at once. Calls in flight keep the config
   * they started with; an invalid config is logged and counted, and the old one keeps serving.
   * `text` replaces reading the file (cluster workers apply the text the primary validated).
   */
  reload(text?: string): Promise<boolean> {
    return this.reloader.reload({ text });
  }

  private swapIn(compiled: CompiledConfig): void {
    const previous = this.config;
    const next = attachClients(compiled, previous, this.clock);
    this.config = next;
    this.leases.swap(next);
    logBreakerTransitions(next, this.logger);
    const { grpcTls } = compiled;
    if (tlsMode(grpcTls) === this.grpcCredentials.mode) this.grpcCredentials.update(grpcTls);
    if (this.ownLogger) this.logger.level = compiled.settings.log.level;
  }

  private watchFile(settle: WatchOptions['settle']): void {
    // SIGHUP always reloads (certificate files may have changed); a file event only when the text did.
    this.watcher = watchConfigFile(this.configFile, this.logger, (text) => void this.reloader.reload({ text, onlyIfChanged: true }), {
      settle,
    });
  }

  private handleSignals(): void {
    process.on('SIGHUP', () => void this.reload());
    // Every SIGTERM or SIGINT is handled: with none left, a second signal would kill the process mid-drain.
    process.on('SIGTERM', () => this.drainAndExit('SIGTERM'));
    process.on('SIGINT', () => this.drainAndExit('SIGINT'));
  }

  /**
   * Drains, then ends the process: exit 0, or 1 when the drain failed, once the log is flushed or
   * `shutdown.logFlushTimeout` has passed. Repeated calls share the one drain.
   */
  drainAndExit(cause: string): void {
    if (this.stopping) {
      this.logger.info({ signal: cause }, 'already draining');
      return;
    }
    this.logger.info({ signal: cause }, 'draining');
    this.shutdown().then(
      () => this.exit(0),
      (err: unknown) => {
        this.logger.error({ err }, 'shutdown failed');
        return this.exit(1);
      },
    );
  }

  /** Exits `code` once the log is flushed or `shutdown.logFlushTimeout` has passed. */
  private exit(code: number): Promise<never> {
    return exitAfterLogFlush(this.logger, code, this.config.settings.shutdown.logFlushTimeoutMs);
  }

  /**
   * Drain in order: health NOT_SERVING and /readyz 503; after `shutdown.drainDelay` stop taking
   * new calls; let calls in flight finish within `shutdown.timeout`; then close everything.
   */
  shutdown(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    this.watcher?.close();
    for (const s of HEALTH_SERVICES) this.health.setStatus(s, 'NOT_SERVING');
    // A reload under way finishes first, so the drain closes the pools of the config that won.
    await this.reloader.stop();
    const { drainDelayMs, timeoutMs } = this.config.settings.shutdown;
    await sleep(drainDelayMs);
    const deadline = Date.now() + timeoutMs;
    const stopped = new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve()));
    const finished = this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
    if (await within(finished, timeoutMs)) {
      // The last answers are handed to grpc-js but may not be on the wire yet; the sessions
      // close on their own once their streams end, so wait for that rather than cut them.
      await within(stopped, Math.min(FLUSH_GRACE_MS, Math.max(0, deadline - Date.now())));
    } else {
      this.logger.warn({ inFlight: this.inFlight }, 'shutdown.timeout passed with checks in flight; closing');
    }
    // The last checks' spans go out before the process ends; a collector that does not take them
    // holds the drain no longer than the time left.
    if (this.tracing) await within(this.tracing.shutdown(), Math.max(FLUSH_GRACE_MS, deadline - Date.now()));
    await this.close();
    this.logger.info('stopped');
  }

  private async close(): Promise<void> {
    this.grpcServer.forceShutdown();
    void this.tracing?.shutdown();
    if (this.admin?.listening) await new Promise<void>((resolve) => this.admin?.close(() => resolve()));
    await this.destroyPools();
  }

  private async destroyPools(): Promise<void> {
    await Promise.all(this.leases.pools().map((c) => c.destroy()));
  }
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import type { FSWatcher } from 'node:fs';
import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ConfigError, redactUrls } from '../config';
import { createAdminServer, listen } from './admin-server';
import { createCheckHandler } from './check-service';
import { compileCheckedConfig, readConfigText, settingsNeedingRestart } from './checked-config';
import { createGrpcCredentials, tlsMode, type GrpcCredentials } from './grpc-credentials';
import { retiredClients, type LoadedConfig } from './load-config';
import { createLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import { AUTHORIZATION_SERVICE_NAME, authorizationService } from './protos';
import { redactConfig } from './redact-config';
import { startTracing, type Tracing, type TracingEnv } from './tracing';
import { watchConfigFile } from './watch-config';

export interface StartOptions {
  readonly configFile: string;
  /** The config text, when already read (cluster workers get the text the primary validated). */
  readonly configText?: string;
  /** Reload when the file changes. */
  readonly watch?: boolean;
  /** Install SIGTERM/SIGINT (drain, then exit 0) and SIGHUP (reload) handlers. */
  readonly handleSignals?: boolean;
  /** Serve /healthz, /readyz, /metrics and /config at admin.address (default true; cluster workers leave it to the primary). */
  readonly admin?: boolean;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** `configText` already compiled (and checked) by the caller, so startup does not compile it twice. */
  readonly preloaded?: LoadedConfig;
  /** Trace each Check as these settings (read from OTEL_* variables) say; no tracing when absent. */
  readonly tracing?: TracingEnv;
}

const HEALTH_SERVICES = ['', AUTHORIZATION_SERVICE_NAME];
/** Longest wait, once no check is in flight, for clients to take the last answers and close. */
const FLUSH_GRACE_MS = 1000;

/** The adapter process: gRPC Check + Health, the admin server, reload and drain. */
export class AdapterServer {
  private config: LoadedConfig;
  private readonly grpcServer: grpc.Server;
  private readonly grpcCredentials: GrpcCredentials;
  private readonly health: HealthImplementation;
  private readonly admin: http.Server | undefined;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private draining = false;
  private bound = false;
  private watcher: FSWatcher | undefined;
  private reloading: Promise<boolean> = Promise.resolve(true);
  private stopping: Promise<void> | undefined;
  grpcPort = 0;
  adminPort = 0;

  private constructor(
    readonly configFile: string,
    private lastText: string,
    initial: LoadedConfig,
    readonly logger: Logger,
    private readonly ownLogger: boolean,
    readonly metrics: Metrics,
    serveAdmin: boolean,
    private readonly tracing: Tracing | undefined,
  ) {
    this.config = initial;
    this.grpcServer = new grpc.Server();
    this.grpcCredentials = createGrpcCredentials(initial.grpcTls);
    this.health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])));
    this.health.addToServer(this.grpcServer);
    this.grpcServer.addService(authorizationService(), {
      Check: createCheckHandler({
        config: () => this.config,
        logger,
        metrics,
        tracer: tracing?.tracer,
        track: (delta) => this.track(delta),
      }),
    });
    metrics.reportInFlight(() => this.inFlight);
    metrics.reportCacheBytes(() => this.config.rules);
    this.admin =
      serveAdmin && initial.settings.admin.address
        ? createAdminServer({
            metrics: () => metrics.registry.metrics(),
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
    const config = options.preloaded ?? (await compileCheckedConfig(text, options.configFile));
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
    if (options.watch) server.watchFile();
    if (options.handleSignals) server.handleSignals();
    return server;
  }

  /** Binds the gRPC port and reports SERVING on health and /readyz. */
  async listen(): Promise<void> {
    const { settings, grpcTls } = this.config;
    this.grpcPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(settings.grpc.address, this.grpcCredentials.credentials, (err, port) =>
        err ? reject(new Error(`grpc.address ${settings.grpc.address}: cannot listen: ${err.message}`)) : resolve(port),
      );
    });
    this.bound = true;
    for (const s of HEALTH_SERVICES) this.health.setStatus(s, 'SERVING');
    this.logger.info(
      { grpcPort: this.grpcPort, adminPort: this.adminPort, rules: this.config.rules.length, tls: tlsMode(grpcTls) },
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

  private track(delta: 1 | -1): void {
    this.inFlight += delta;
    if (this.inFlight === 0 && this.idle) this.idle();
  }

  /**
   * Validates the new config completely, then swaps it in at once. Calls in flight keep the config
   * they started with; an invalid config is logged and counted, and the old one keeps serving.
   * `text` replaces reading the file (cluster workers apply the text the primary validated).
   */
  reload(text?: string): Promise<boolean> {
    return this.enqueueReload(text, false);
  }

  private enqueueReload(text: string | undefined, onlyIfChanged: boolean): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.reloadNow(text, onlyIfChanged));
    return this.reloading;
  }

  private async reloadNow(givenText: string | undefined, onlyIfChanged: boolean): Promise<boolean> {
    if (this.draining) return false;
    const previous = this.config;
    let next: LoadedConfig;
    try {
      const text = givenText ?? (await readConfigText(this.configFile));
      if (onlyIfChanged && text === this.lastText) return true;
      // Remembered even when rejected, so an invalid file is reported once, not on every directory event.
      this.lastText = text;
      next = await compileCheckedConfig(text, this.configFile, previous);
    } catch (err) {
      this.metrics.reloads?.inc({ result: 'failure' });
      const issues = err instanceof ConfigError ? err.issues : [{ path: '', message: redactUrls((err as Error).message) }];
      this.logger.error({ file: this.configFile, issues }, 'config reload rejected; the previous config keeps serving');
      return false;
    }
    this.config = next;
    if (tlsMode(next.grpcTls) === this.grpcCredentials.mode) this.grpcCredentials.update(next.grpcTls);
    if (this.ownLogger) this.logger.level = next.settings.log.level;
    // Closing waits for the calls still using a retired pool; new calls already use the new config.
    for (const client of retiredClients(previous, next)) {
      client.close().catch((err: unknown) => this.logger.warn({ err }, 'closing a retired auth service pool failed'));
    }
    this.metrics.reloads?.inc({ result: 'success' });
    const restart = settingsNeedingRestart(previous, next);
    if (restart.length > 0) this.logger.warn({ settings: restart }, 'config reloaded, but these settings take effect only after a restart');
    this.logger.info({ rules: next.rules.length }, 'config reloaded');
    return true;
  }

  private watchFile(): void {
    // SIGHUP always reloads (certificate files may have changed); a file event only when the text did.
    this.watcher = watchConfigFile(this.configFile, this.logger, () => void this.enqueueReload(undefined, true));
  }

  private handleSignals(): void {
    process.on('SIGHUP', () => void this.reload());
    const stop = (signal: string): void => {
      this.logger.info({ signal }, 'draining');
      this.shutdown().then(
        () => process.exit(0),
        (err: unknown) => {
          this.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
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
    await this.reloading;
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
    await Promise.all([...new Set(this.config.rules.map((r) => r.client))].map((c) => c.destroy()));
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

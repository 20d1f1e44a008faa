import { watch, type FSWatcher } from 'node:fs';
import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ConfigError } from '../config';
import { createAdminServer, listen } from './admin-server';
import { createCheckHandler } from './check-service';
import { loadConfigFile, retiredClients, type LoadedConfig } from './load-config';
import { createLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import { AUTHORIZATION_SERVICE_NAME, authorizationService } from './protos';
import { redactConfig } from './redact-config';

export interface StartOptions {
  readonly configFile: string;
  /** Reload when the file changes (and on SIGHUP when signals are handled). */
  readonly watch?: boolean;
  /** Install SIGTERM/SIGINT (drain, then exit 0) and SIGHUP (reload) handlers. */
  readonly handleSignals?: boolean;
  readonly logger?: Logger;
}

const HEALTH_SERVICES = ['', AUTHORIZATION_SERVICE_NAME];
const WATCH_DEBOUNCE_MS = 100;

/** The adapter process: gRPC Check + Health, the admin server, reload and drain. */
export class AdapterServer {
  private config: LoadedConfig;
  private readonly grpcServer: grpc.Server;
  private readonly health: HealthImplementation;
  private readonly admin: http.Server | undefined;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private draining = false;
  private bound = false;
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<boolean> = Promise.resolve(true);
  grpcPort = 0;
  adminPort = 0;

  private constructor(
    readonly configFile: string,
    initial: LoadedConfig,
    readonly logger: Logger,
    readonly metrics: Metrics,
  ) {
    this.config = initial;
    this.grpcServer = new grpc.Server();
    this.health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])));
    this.health.addToServer(this.grpcServer);
    this.grpcServer.addService(authorizationService(), {
      Check: createCheckHandler({
        config: () => this.config,
        logger,
        metrics,
        track: (delta) => this.track(delta),
      }),
    });
    this.admin = initial.settings.admin.address
      ? createAdminServer({
          metrics,
          ready: () => this.bound && !this.draining,
          config: () => (this.config.settings.admin.exposeConfig ? redactConfig(this.config.settings) : undefined),
        })
      : undefined;
  }

  /** Loads the config (refusing to start on an invalid one), binds both ports and reports SERVING. */
  static async start(options: StartOptions): Promise<AdapterServer> {
    const config = await loadConfigFile(options.configFile);
    const logger = options.logger ?? createLogger(config.settings.log.level);
    const server = new AdapterServer(options.configFile, config, logger, new Metrics());
    await server.bind();
    if (options.watch) server.watchFile();
    if (options.handleSignals) server.handleSignals();
    return server;
  }

  private async bind(): Promise<void> {
    const { settings, grpcTls } = this.config;
    const credentials = grpcTls
      ? grpc.ServerCredentials.createSsl(
          grpcTls.clientCa ?? null,
          [{ cert_chain: grpcTls.cert, private_key: grpcTls.key }],
          grpcTls.clientCa !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
    this.grpcPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(settings.grpc.address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
    if (this.admin) this.adminPort = await listen(this.admin, settings.admin.address);
    this.bound = true;
    for (const s of HEALTH_SERVICES) this.health.setStatus(s, 'SERVING');
    this.logger.info(
      { grpcPort: this.grpcPort, adminPort: this.adminPort, rules: this.config.rules.length, tls: Boolean(grpcTls) },
      'ext-authz-adapter serving',
    );
  }

  get current(): LoadedConfig {
    return this.config;
  }

  get checksInFlight(): number {
    return this.inFlight;
  }

  private track(delta: 1 | -1): void {
    this.inFlight += delta;
    this.metrics.inFlight.set(this.inFlight);
    if (this.inFlight === 0 && this.idle) this.idle();
  }

  /**
   * Validates the file completely, then swaps it in at once. Calls in flight keep the config they
   * started with; an invalid file is logged and counted, and the old config keeps serving.
   */
  reload(): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  private async reloadNow(): Promise<boolean> {
    const previous = this.config;
    try {
      const next = await loadConfigFile(this.configFile, previous);
      this.config = next;
      for (const client of retiredClients(previous, next)) {
        client.close().catch((err: unknown) => this.logger.warn({ err }, 'closing a retired auth service pool failed'));
      }
      this.metrics.reloads.inc({ result: 'success' });
      this.logger.info({ rules: next.rules.length }, 'config reloaded');
      return true;
    } catch (err) {
      this.metrics.reloads.inc({ result: 'failure' });
      const issues = err instanceof ConfigError ? err.issues : [{ path: '', message: (err as Error).message }];
      this.logger.error({ file: this.configFile, issues }, 'config reload rejected; the previous config keeps serving');
      return false;
    }
  }

  private watchFile(): void {
    // Editors and ConfigMap updates replace the file in several steps; one reload after they settle.
    this.watcher = watch(this.configFile, () => {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload(), WATCH_DEBOUNCE_MS);
    });
    this.watcher.on('error', (err) => this.logger.warn({ err }, 'config file watch failed; SIGHUP still reloads'));
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
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.watcher?.close();
    clearTimeout(this.reloadTimer);
    for (const s of HEALTH_SERVICES) this.health.setStatus(s, 'NOT_SERVING');
    const { drainDelayMs, timeoutMs } = this.config.settings.shutdown;
    await sleep(drainDelayMs);
    const stopped = new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve()));
    const finished = this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      finished.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!inTime) this.logger.warn({ inFlight: this.inFlight }, 'shutdown.timeout passed with checks in flight; closing');
    this.grpcServer.forceShutdown();
    await stopped;
    await new Promise<void>((resolve) => (this.admin ? this.admin.close(() => resolve()) : resolve()));
    await Promise.all([...new Set(this.config.rules.map((r) => r.client))].map((c) => c.destroy()));
    this.logger.info('stopped');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import type { LogLevel, MatchMode, ServiceMode } from './types';

const KIB = 1024;
const MIB = 1024 * KIB;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * Every default a config key takes when it is left out. The configuration reference's table of
 * defaults is checked against this object by test/config/defaults.test.ts.
 */
export const DEFAULTS = {
  grpcAddress: '0.0.0.0:9001',
  adminAddress: '0.0.0.0:9002',
  exposeConfig: false,
  logLevel: 'info' as LogLevel,
  workers: 1,
  drainDelayMs: 5_000,
  shutdownTimeoutMs: 15_000,
  logFlushTimeoutMs: 2_000,
  grpcMaxRequestBytes: MIB,
  grpcMaxInFlightBytes: 64 * MIB,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  enabled: true,
  dryRun: false,
  servicePath: '',
  timeoutMs: 10_000,
  mode: 'strict' as ServiceMode,
  statusOnError: 403,
  maxConcurrent: 1024,
  connections: 64,
  retries: 1,
  breakerFailures: 5,
  breakerOpenForMs: 5_000,
  tokenHeader: 'authorization',
  requestAllowedHeaders: [] as readonly string[],
  maxHeaderBytes: 64 * KIB,
  bodyEnabled: false,
  bodyMaxBytes: 10 * KIB,
  removeHeaders: [] as readonly string[],
  responseAllowedHeaders: [] as readonly string[],
  appendHeaders: [] as readonly string[],
  clientHeadersOnSuccess: [] as readonly string[],
  dynamicMetadata: [] as readonly string[],
  resultHeader: 'x-mse-external-authz-check-result',
  responseMaxBodyBytes: 64 * KIB,
  matchMode: 'all' as MatchMode,
  cacheTtlMs: 30_000,
  cacheMaxEntries: 10_000,
  cacheMaxBytes: 32 * MIB,
  coalesce: false,
} as const;

export interface Bound {
  readonly min: number;
  readonly max: number;
}

/** The range each numeric key accepts; durations in milliseconds. */
export const BOUNDS = {
  workers: { min: 1, max: 256 },
  drainDelayMs: { min: 0, max: HOUR_MS },
  shutdownTimeoutMs: { min: 0, max: HOUR_MS },
  logFlushTimeoutMs: { min: 0, max: MINUTE_MS },
  grpcMaxRequestBytes: { min: 64 * KIB, max: 64 * MIB },
  grpcMaxInFlightBytes: { min: 64 * KIB, max: 64 * 1024 * MIB },
  heartbeatIntervalMs: { min: 10, max: MINUTE_MS },
  heartbeatTimeoutMs: { min: 10, max: 10 * MINUTE_MS },
  timeoutMs: { min: 1, max: 10 * MINUTE_MS },
  statusOnError: { min: 400, max: 599 },
  maxConcurrent: { min: 1, max: 1_000_000 },
  connections: { min: 1, max: 10_000 },
  retries: { min: 0, max: 3 },
  breakerFailures: { min: 1, max: 1_000 },
  breakerOpenForMs: { min: 1, max: HOUR_MS },
  maxHeaderBytes: { min: KIB, max: MIB },
  bodyMaxBytes: { min: 0, max: 16 * MIB },
  responseMaxBodyBytes: { min: 0, max: 16 * MIB },
  cacheTtlMs: { min: 1, max: 24 * HOUR_MS },
  cacheMaxEntries: { min: 1, max: 10_000_000 },
  cacheMaxBytes: { min: 64 * KIB, max: 64 * 1024 * MIB },
} as const satisfies Record<string, Bound>;

/** Room in a CheckRequest, besides the body, for the client's headers (Envoy's default bound is 60 KiB) and attributes. */
export const REQUEST_OVERHEAD_BYTES = 128 * KIB;

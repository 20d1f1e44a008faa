/**
 * The adapter's settings after parsing: every default applied, every duration in
 * milliseconds, every header name lowercased. Conditions (`match`) stay raw here and
 * are compiled by src/matcher, so this module knows nothing about matching.
 */
import type { StaticHeader } from './static-header';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type ServiceMode = 'loose' | 'strict';
export type MatchMode = 'all' | 'whitelist' | 'blacklist' | 'complex';

export interface GrpcTlsSettings {
  readonly cert: string;
  readonly key: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  readonly clientCa?: string;
}

export interface GrpcSettings {
  readonly address: string;
  readonly tls?: GrpcTlsSettings;
  /** Largest CheckRequest the gRPC server accepts; a larger one is refused (RESOURCE_EXHAUSTED) before it is decoded. */
  readonly maxRequestBytes: number;
  /** Bound on the CheckRequest bytes held by all checks in flight; past it a check is denied (503, `overloaded`). */
  readonly maxInFlightBytes: number;
}

export interface AdminSettings {
  /** Empty string disables the admin server. */
  readonly address: string;
  readonly exposeConfig: boolean;
}

export interface ShutdownSettings {
  readonly drainDelayMs: number;
  readonly timeoutMs: number;
  /** After the drain, how long the process waits for stdout to take the pending log lines before it exits without them. */
  readonly logFlushTimeoutMs: number;
}

/** How the primary of a `workers: N` deployment tells a hung worker from a busy one. */
export interface WorkerHeartbeatSettings {
  readonly intervalMs: number;
  /** A worker that has not answered a heartbeat for this long is reported not ready and replaced. */
  readonly timeoutMs: number;
}

export interface ServiceTlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

export interface ServiceSettings {
  /** Origin only: `http://auth:8000` or `https://auth.internal`. */
  readonly url: string;
  /** Prefix joined to the original path: "" or "/validateToken" (never a trailing "/"). */
  readonly path: string;
  readonly timeoutMs: number;
  readonly mode: ServiceMode;
  readonly statusOnError: number;
  /** Bound on this rule's auth calls in flight; past it a check is denied (503, `overloaded`) in every mode. */
  readonly maxConcurrent: number;
  /** Keep-alive connections in the pool toward this service. */
  readonly connections: number;
  /** Immediate retries, on a new connection, of a call refused or reset before any response byte. */
  readonly retries: number;
  /** Absent when `circuitBreaker: false`. */
  readonly circuitBreaker?: CircuitBreakerSettings;
  readonly tls?: ServiceTlsSettings;
}

export interface CircuitBreakerSettings {
  /** Consecutive calls the service did not answer (connect failure, reset before any byte, timeout) that open it. */
  readonly failures: number;
  /** How long it stays open before one probe call may go through. */
  readonly openForMs: number;
}

export interface RequestSettings {
  readonly tokenHeaders: readonly string[];
  /** Header names forwarded to the auth service. */
  readonly allowedHeaders: readonly string[];
  /** StringMatchers over header names in `allowedHeaders`, as written; compiled by src/matcher. */
  readonly allowedHeaderMatchers: readonly HeaderNameMatcherSource[];
  /** Static headers on every auth request; they replace a client's header of the same name. */
  readonly headersToAdd: readonly StaticHeader[];
  /** Removed from the upstream request on every OK of a check this rule is in scope of. */
  readonly removeHeaders: readonly string[];
  /** Bound on the total size of the header names and values forwarded to the auth service. */
  readonly maxHeaderBytes: number;
  readonly body: { readonly enabled: boolean; readonly maxBytes: number };
}

/** One StringMatcher item of `request.allowedHeaders`, with its key path for compile errors. */
export interface HeaderNameMatcherSource {
  readonly path: string;
  readonly matcher: unknown;
}

export interface ResponseSettings {
  /** Set upstream, overwriting the client's; repeats joined with ",". */
  readonly allowedHeaders: readonly string[];
  /** Added upstream, each occurrence its own value; the client's copy never survives. */
  readonly appendHeaders: readonly string[];
  /** Sent to the client on an OK (`response_headers_to_add`), every occurrence kept. */
  readonly clientHeadersOnSuccess: readonly string[];
  /** The auth service's headers a denial passes to the client; undefined: all of them. */
  readonly clientHeaders: readonly string[] | undefined;
  /** Auth response headers copied into CheckResponse.dynamic_metadata. */
  readonly dynamicMetadata: readonly string[];
  readonly resultHeader: string;
  /** Bound on the auth service body kept for a denial; the rest is dropped. */
  readonly maxBodyBytes: number;
}

export interface CacheSettings {
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Bound on the keys, headers and bodies held, least recently used evicted first. */
  readonly maxBytes: number;
}

/** `match` as written: the mode is checked here, the conditions by src/matcher. */
export interface RawMatch {
  readonly mode: MatchMode;
  readonly conditions?: unknown;
  readonly permissions?: unknown;
  /** Key path of the `match` block, for errors raised while compiling it. */
  readonly path: string;
}

export interface RuleSettings {
  readonly name: string;
  readonly enabled: boolean;
  /** Call, interpret, log and count, but never deny. */
  readonly dryRun: boolean;
  readonly service: ServiceSettings;
  readonly request: RequestSettings;
  readonly response: ResponseSettings;
  readonly match: RawMatch;
  readonly cache?: CacheSettings;
  readonly coalesce: boolean;
}

export interface AdapterSettings {
  readonly grpc: GrpcSettings;
  readonly admin: AdminSettings;
  readonly log: { readonly level: LogLevel };
  readonly shutdown: ShutdownSettings;
  /** Worker processes sharing the gRPC port; 1 runs in-process. */
  readonly workers: number;
  readonly workerHeartbeat: WorkerHeartbeatSettings;
  readonly rules: readonly RuleSettings[];
}

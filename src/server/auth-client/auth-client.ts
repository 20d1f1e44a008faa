import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Client, Pool, buildConnector, type Dispatcher } from 'undici';
import type { ServiceSettings, ServiceTlsMaterial } from '../../config';
import type { AuthRequest, AuthResponse, UnavailableKind } from '../../translate';
import { AuthCallHandler } from './call-handler';
import type { Cancellation } from './cancellation';
import { CircuitBreaker } from './circuit-breaker';
import { watchResponses } from './response-watch';

export type AuthCallResult =
  | {
      readonly ok: true;
      readonly response: AuthResponse;
      readonly elapsedMs: number;
      /** Attempts made again on a new connection; none when absent. */
      readonly retries?: number;
    }
  | {
      readonly ok: false;
      readonly cause: UnavailableKind | LocalFailure;
      readonly elapsedMs: number;
      readonly retries?: number;
      /** Connect failure, reset before any response byte, or timeout on the wire: counts toward the breaker. */
      readonly notAnswering?: boolean;
    };

/**
 * Ends of a call that say nothing about the auth service: the caller went away, the HTTP client
 * refused the request, or the adapter itself failed (out of file descriptors or memory, its own
 * pool closed). None of them may count as the service being unavailable, which loose mode lets through.
 */
export type LocalFailure = 'cancelled' | 'invalid_request' | 'local';

/** One attempt's failure, before retries are counted. */
type AttemptFailure = Omit<Extract<AuthCallResult, { ok: false }>, 'retries' | 'notAnswering'> & {
  readonly notAnswering: boolean;
  /** Refused, or closed/reset before any byte of a response: nothing was answered, so asking again is safe. */
  readonly retryable: boolean;
};
export type AttemptResult = Omit<Extract<AuthCallResult, { ok: true }>, 'retries'> | AttemptFailure;

export interface CallLimits {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Immediate retries on a new connection (see AuthClient.call); none when absent. */
  readonly retries?: number;
}

/** What the check pipeline needs of an auth service: one bounded call that never rejects. */
export interface AuthCaller {
  call(req: AuthRequest, limits: CallLimits, cancel?: Cancellation): Promise<AuthCallResult>;
  /** The pool's circuit breaker, when the rule has one. */
  readonly breaker?: CircuitBreaker;
}

/**
 * One keep-alive pool toward one auth service, bounded in sockets (`connections`). Calls are
 * bounded in time (`timeoutMs`, headers and body together) and kept body size (`maxBodyBytes`);
 * their number is each rule's own bound (ConcurrencyLimit), taken before a call gets here.
 * Every connection is watched (response-watch.ts): interim 1xx heads are dropped, and a close
 * before any response byte is told apart from one mid-response.
 */
export class AuthClient implements AuthCaller {
  private readonly pool: Pool;
  private readonly connector: buildConnector.connector;
  readonly origin: string;
  private readonly connections: number;
  /** TLS name for https services; see the constructor. */
  private readonly servername: string | undefined;
  /** Absent when the rule turned it off (`circuitBreaker: false`). */
  readonly breaker: CircuitBreaker | undefined;

  /** `identity` says which service this pool reaches; equal identities may share a pool across reloads. */
  constructor(
    readonly identity: string,
    service: ServiceSettings,
    tls: ServiceTlsMaterial | undefined,
    clock: () => number = performance.now.bind(performance),
  ) {
    // undici takes each request's TLS name from its Host header, which here is the client's: that
    // would verify the service against a name the client chose, send it as SNI, and reconnect
    // whenever it changes. The name is pinned to service.tls.serverName or the URL's host; for an
    // IP address no SNI is sent at all (RFC 6066 allows host names only).
    const url = new URL(service.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const https = url.protocol === 'https:';
    const verifyAs = tls?.serverName ?? host;
    const sni = https && !isIP(verifyAs) ? verifyAs : undefined;
    // Every request names the same server, so undici never falls back to the Host header, nor
    // drops a connection because the name changed; the connector below sends `sni` whatever it is.
    this.servername = https ? (sni ?? host) : undefined;
    this.origin = service.url;
    this.connections = service.connections;
    this.breaker = service.circuitBreaker && new CircuitBreaker(service.circuitBreaker, clock);
    const connect = buildConnector({
      timeout: Math.min(service.timeoutMs, 10_000),
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
      ...(https ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(verifyAs, cert) } : {}),
    });
    this.connector = (options, callback) =>
      connect({ ...options, servername: sni }, (err, socket) => {
        if (socket) watchResponses(socket);
        (callback as (e: Error | null, s: typeof socket) => void)(err, socket);
      });
    this.pool = new Pool(service.url, {
      connections: service.connections,
      pipelining: 1,
      // Off: every call has its own timer (AuthCallHandler) over the wait for a connection, the
      // headers and the body, and aborts the request when it fires. undici's own timeouts would
      // add two coarse-wheel timers per call that outlive it by up to a second, hundreds of them
      // live under load: long enough to be promoted out of the young generation.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: this.connector,
    });
  }

  /**
   * Never rejects: every way a call can end is an AuthCallResult. A call refused or reset before
   * any byte of a response arrived is asked again at once, at most `limits.retries` times, each
   * on a new connection (the pool's other idle ones may be just as stale) and within what is left
   * of `limits.timeoutMs`. Nothing else is retried: after a timeout the service may still be
   * working on it, and any response, a 5xx included, is an answer.
   */
  call(req: AuthRequest, limits: CallLimits, cancel?: Cancellation): Promise<AuthCallResult> {
    if (cancel?.cancelled) return Promise.resolve(CANCELLED);
    const started = performance.now();
    // A continuation, and the retry loop only when it is needed: no suspended frame per call.
    return this.attempt(this.pool, req, limits, limits.timeoutMs, cancel, this.waitedForBusyPool).then((first) =>
      first.ok || !first.retryable || !limits.retries ? callResult(first, started, 0) : this.retry(first, req, limits, started, cancel),
    );
  }

  private async retry(
    first: AttemptResult,
    req: AuthRequest,
    limits: CallLimits,
    started: number,
    cancel: Cancellation | undefined,
  ): Promise<AuthCallResult> {
    let result = first;
    let retries = 0;
    while (!result.ok && result.retryable && retries < (limits.retries ?? 0)) {
      const left = limits.timeoutMs - (performance.now() - started);
      if (left < 1 || cancel?.cancelled) break;
      retries++;
      const fresh = new Client(this.origin, { pipelining: 1, headersTimeout: 0, bodyTimeout: 0, connect: this.connector });
      try {
        result = await this.attempt(fresh, req, limits, left, cancel, () => false);
      } finally {
        fresh.destroy().catch(() => undefined);
      }
    }
    return callResult(result, started, retries);
  }

  private attempt(
    dispatcher: Dispatcher,
    req: AuthRequest,
    limits: CallLimits,
    timeoutMs: number,
    cancel: Cancellation | undefined,
    waitedForBusyPool: () => boolean,
  ): Promise<AttemptResult> {
    return new Promise((resolve) => {
      const handler = new AuthCallHandler(timeoutMs, limits.maxBodyBytes, cancel, waitedForBusyPool, resolve);
      // undici's Request reads `servername`, but its option types leave it out.
      const options: Dispatcher.DispatchOptions & { servername?: string } = {
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: req.headers,
        body: req.body,
        // A client's body goes to a service that may not read it (many answer from the head
        // alone); left on a keep-alive connection, its unread bytes would be parsed as the next
        // request there, and that request's answer handed to the next check. Closing the
        // connection after the response ends the client's bytes with their own request.
        reset: req.body !== undefined && req.body.length > 0,
        servername: this.servername,
      };
      dispatcher.dispatch(options, handler);
    });
  }

  /**
   * Whether a call that timed out before it was written waited behind calls holding every
   * connection: load the adapter's clients can make, not the service failing to connect.
   */
  private readonly waitedForBusyPool = (): boolean => this.pool.stats.connected >= this.connections;

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

const CANCELLED: AuthCallResult = { ok: false, cause: 'cancelled', elapsedMs: 0, retries: 0, notAnswering: false };

function callResult(result: AttemptResult, started: number, retries: number): AuthCallResult {
  const elapsedMs = performance.now() - started;
  if (result.ok) return { ok: true, response: result.response, elapsedMs, retries };
  return { ok: false, cause: result.cause, notAnswering: result.notAnswering, elapsedMs, retries };
}

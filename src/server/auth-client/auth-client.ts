import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Pool, buildConnector, type Dispatcher } from 'undici';
import type { ServiceSettings, ServiceTlsMaterial } from '../../config';
import type { AuthRequest, AuthResponse, UnavailableKind } from '../../translate';
import { AuthCallHandler } from './call-handler';
import type { Cancellation } from './cancellation';

export type AuthCallResult =
  | { readonly ok: true; readonly response: AuthResponse; readonly elapsedMs: number }
  | { readonly ok: false; readonly cause: UnavailableKind | LocalFailure; readonly elapsedMs: number };

/**
 * Ends of a call that say nothing about the auth service: the caller went away, the HTTP client
 * refused the request, or the adapter itself failed (out of file descriptors or memory, its own
 * pool closed). None of them may count as the service being unavailable, which loose mode lets through.
 */
export type LocalFailure = 'cancelled' | 'invalid_request' | 'local';

export interface CallLimits {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

/** What the check pipeline needs of an auth service: one bounded call that never rejects. */
export interface AuthCaller {
  call(req: AuthRequest, limits: CallLimits, cancel?: Cancellation): Promise<AuthCallResult>;
}

/**
 * One keep-alive pool toward one auth service, bounded in sockets (`connections`). Calls are
 * bounded in time (`timeoutMs`, headers and body together) and kept body size (`maxBodyBytes`);
 * their number is each rule's own bound (ConcurrencyLimit), taken before a call gets here.
 */
export class AuthClient implements AuthCaller {
  private readonly pool: Pool;
  /** TLS name for https services; see the constructor. */
  private readonly servername: string | undefined;

  /** `identity` says which service this pool reaches; equal identities may share a pool across reloads. */
  constructor(
    readonly identity: string,
    service: ServiceSettings,
    tls: ServiceTlsMaterial | undefined,
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
    const connector = buildConnector({
      timeout: Math.min(service.timeoutMs, 10_000),
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
      ...(https ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(verifyAs, cert) } : {}),
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
      connect: (options, callback) => connector({ ...options, servername: sni }, callback),
    });
  }

  /** Never rejects: every way a call can end is an AuthCallResult. */
  call(req: AuthRequest, limits: CallLimits, cancel?: Cancellation): Promise<AuthCallResult> {
    if (cancel?.cancelled) return Promise.resolve(CANCELLED);
    return new Promise((resolve) => {
      const handler = new AuthCallHandler(limits, cancel, resolve);
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
      this.pool.dispatch(options, handler);
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

const CANCELLED: AuthCallResult = { ok: false, cause: 'cancelled', elapsedMs: 0 };

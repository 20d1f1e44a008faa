import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { ServiceSettings } from '../config';
import type { AuthRequest, AuthResponse, UnavailableKind } from '../translate';
import type { Cancellation } from './cancellation';

/** TLS material read from the files named in `service.tls`, so a reload picks up new certificates. */
export interface ServiceTlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly serverName?: string;
}

export type AuthCallResult =
  | { readonly ok: true; readonly response: AuthResponse; readonly elapsedMs: number }
  | { readonly ok: false; readonly cause: UnavailableKind | 'cancelled' | 'invalid_request'; readonly elapsedMs: number };

export interface CallLimits {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

/**
 * One keep-alive pool toward one auth service, bounded in sockets (`connections`). Calls are
 * bounded in time (`timeoutMs`, headers and body together) and kept body size (`maxBodyBytes`);
 * their number is each rule's own bound (ConcurrencyLimit), taken before a call gets here.
 */
export class AuthClient {
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
    // would verify the service against a name the client chose and reconnect whenever it changes.
    // The name is pinned to service.tls.serverName or the URL's host instead.
    const url = new URL(service.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const https = url.protocol === 'https:';
    const verifyAs = tls?.serverName ?? host;
    this.servername = https ? (tls?.serverName ?? (isIP(host) ? undefined : host)) : undefined;
    this.pool = new Pool(service.url, {
      connections: service.connections,
      pipelining: 1,
      // Off: every call has its own timer (AuthCallHandler) over the wait for a connection, the
      // headers and the body, and aborts the request when it fires. undici's own timeouts would
      // add two coarse-wheel timers per call that outlive it by up to a second (~900 of them live
      // at 2,000 checks/s), long enough to be promoted out of the young generation.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: {
        timeout: Math.min(service.timeoutMs, 10_000),
        ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName } : {}),
        ...(https ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(verifyAs, cert) } : {}),
      },
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

/** Why the adapter itself ended a call early; the reason undici reports back is ignored. */
class CallStopped extends Error {}

/**
 * One call through undici's dispatch API, which hands over the response as it is parsed: no
 * body stream, async iterator or AbortSignal per call. Settles exactly once: on the response's
 * end, on the body reaching `maxBodyBytes` (kept so far, then the connection is dropped rather
 * than drain an endless body), on an error, on the timeout (headers and body together) or on
 * cancellation.
 */
class AuthCallHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private status = 0;
  private headers: AuthResponse['headers'] = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly limits: CallLimits,
    private readonly cancel: Cancellation | undefined,
    private readonly settle: (result: AuthCallResult) => void,
  ) {
    this.timer = setTimeout(stopOnTimeout, limits.timeoutMs, this);
    cancel?.onCancel(() => this.stop('cancelled'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Timed out or cancelled while it waited for a connection: it must not reach the service now.
    if (this.settled) controller.abort(new CallStopped());
    else this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // A 1xx is informational; the answer is still to come.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers as AuthResponse['headers'];
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    const room = this.limits.maxBodyBytes - this.size;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size += room;
      this.succeed(true);
      controller.abort(new CallStopped());
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    this.succeed(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.settled) this.finish({ ok: false, cause: classify(err), elapsedMs: performance.now() - this.started });
  }

  stop(cause: 'timeout' | 'cancelled'): void {
    if (this.settled) return;
    this.finish({ ok: false, cause, elapsedMs: performance.now() - this.started });
    this.controller?.abort(new CallStopped());
  }

  private succeed(truncated: boolean): void {
    if (this.settled) return;
    const { chunks, size } = this;
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    this.finish({
      ok: true,
      response: { status: this.status, headers: this.headers, body, truncated },
      elapsedMs: performance.now() - this.started,
    });
  }

  private finish(result: AuthCallResult): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.cancel?.onCancel(undefined);
    this.settle(result);
  }
}

function stopOnTimeout(handler: AuthCallHandler): void {
  handler.stop('timeout');
}

function classify(err: unknown): UnavailableKind | 'invalid_request' {
  const code = (err as { code?: string } | null)?.code ?? '';
  switch (code) {
    // undici refused to send the request (a header it cannot write): never the service's fault,
    // so never "unavailable", which loose mode would let through.
    case 'UND_ERR_INVALID_ARG':
      return 'invalid_request';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    default:
      // A certificate the service presents and we refuse is a failure to connect, not a bad answer.
      return /CERT|TLS|SSL/.test(code) ? 'connect' : 'protocol';
  }
}

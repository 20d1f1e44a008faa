import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import type { ServiceSettings } from '../config';
import type { AuthRequest, AuthResponse, UnavailableKind } from '../translate';

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
  readonly maxConcurrent: number;
  readonly maxBodyBytes: number;
}

/**
 * One keep-alive pool toward one auth service. Calls are bounded in number (`maxConcurrent`),
 * time (`timeoutMs`, headers and body together) and kept body size (`maxBodyBytes`).
 */
export class AuthClient {
  private readonly pool: Pool;
  /** TLS name for https services; see the constructor. */
  private readonly servername: string | undefined;
  private inFlight = 0;

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
      // Our own timer bounds the whole call; these only stop undici's defaults (300s) from being looser.
      headersTimeout: service.timeoutMs,
      bodyTimeout: service.timeoutMs,
      connect: {
        timeout: Math.min(service.timeoutMs, 10_000),
        ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName } : {}),
        ...(https ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(verifyAs, cert) } : {}),
      },
    });
  }

  get active(): number {
    return this.inFlight;
  }

  async call(req: AuthRequest, limits: CallLimits, cancel?: AbortSignal): Promise<AuthCallResult> {
    const started = performance.now();
    if (this.inFlight >= limits.maxConcurrent) return { ok: false, cause: 'overload', elapsedMs: 0 };
    this.inFlight++;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, limits.timeoutMs);
    const onCancel = (): void => controller.abort();
    cancel?.addEventListener('abort', onCancel, { once: true });
    try {
      // undici's Request reads `servername`, but its option types leave it out.
      const options: Dispatcher.RequestOptions & { servername?: string } = {
        method: req.method as 'GET',
        path: req.path,
        headers: req.headers,
        body: req.body,
        signal: controller.signal,
        servername: this.servername,
      };
      const res = await this.pool.request(options);
      const { body, truncated } = await readBounded(res.body, limits.maxBodyBytes);
      return {
        ok: true,
        response: { status: res.statusCode, headers: res.headers as AuthResponse['headers'], body, truncated },
        elapsedMs: performance.now() - started,
      };
    } catch (err) {
      const cause = timedOut ? 'timeout' : cancel?.aborted ? 'cancelled' : classify(err);
      return { ok: false, cause, elapsedMs: performance.now() - started };
    } finally {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      this.inFlight--;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

/** Keeps at most `max` bytes; past that it stops reading and drops the connection rather than drain an endless body. */
async function readBounded(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  max: number,
): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const room = max - size;
    if (chunk.length >= room) {
      if (room > 0) chunks.push(chunk.subarray(0, room));
      size = max;
      if (chunk.length > room) {
        truncated = true;
        body.destroy();
        break;
      }
      continue;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), truncated };
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

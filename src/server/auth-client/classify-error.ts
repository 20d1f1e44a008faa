import type { UnavailableKind } from '../../translate';
import type { LocalFailure } from './auth-client';

/**
 * What an undici error says about a call: the HTTP client refused the request
 * (`invalid_request`, never the service's fault), the adapter itself failed (`local`), or how
 * the service was unavailable.
 */
export function classify(err: unknown): UnavailableKind | Exclude<LocalFailure, 'cancelled'> {
  const code = (err as { code?: string } | null)?.code ?? '';
  switch (code) {
    // The adapter's own resources or its own pool: a pool is closed only once no check uses it,
    // so these mean the adapter is failing, and the check is denied whatever the mode.
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOMEM':
    case 'ENOBUFS':
    case 'EADDRNOTAVAIL':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'local';
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
    case 'UND_ERR_SOCKET':
      // undici's words for a response it refuses to parse (a 101 nobody asked for), not a reset.
      return /^bad (response|upgrade)$/.test((err as Error).message) ? 'protocol' : 'reset';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      // A certificate the service presents and we refuse is a failure to connect, not a bad answer.
      return /CERT|TLS|SSL/.test(code) ? 'connect' : 'protocol';
  }
}

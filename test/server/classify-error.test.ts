import { classify } from '../../src/server/auth-client/classify-error';

// What an error from undici or the socket layer counts as. The line that matters: the adapter's
// own failures (`local`) and refusals (`invalid_request`) are never a kind of "unavailable",
// which loose mode would let through. Errors are plain objects with the `code` undici sets.

const err = (code: string): Error => Object.assign(new Error(code), { code });

test.each([
  ['EMFILE', 'local'],
  ['ENFILE', 'local'],
  ['ENOMEM', 'local'],
  ['ENOBUFS', 'local'],
  ['EADDRNOTAVAIL', 'local'],
  // A pool closed or destroyed by the adapter itself (a retired pool, a shutdown).
  ['UND_ERR_CLOSED', 'local'],
  ['UND_ERR_DESTROYED', 'local'],
  ['UND_ERR_INVALID_ARG', 'invalid_request'],
  ['ECONNREFUSED', 'connect'],
  ['UND_ERR_CONNECT_TIMEOUT', 'connect'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'connect'],
  ['ECONNRESET', 'reset'],
  ['UND_ERR_SOCKET', 'reset'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['HPE_INVALID_CONSTANT', 'protocol'],
])('%s counts as %s', (code, kind) => {
  expect(classify(err(code))).toBe(kind);
});

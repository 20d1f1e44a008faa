import { MAX_INTERIM_HEAD, scanResponseStart } from '../../src/server/auth-client/response-watch';

// What the connection watch makes of the first bytes of a response (the socket side is tested
// end to end in test/reliability: breaker-and-retry.test.ts and the fault matrix).

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('scanResponseStart', () => {
  test.each<[string, string, ReturnType<typeof scanResponseStart>]>([
    ['a final status is passed on', 'HTTP/1.1 200 OK\r\n\r\n', 'final'],
    ['HTTP/1.0 too', 'HTTP/1.0 401 Unauthorized\r\n', 'final'],
    ['a 100 Continue head is dropped whole', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n', 'HTTP/1.1 100 Continue\r\n\r\n'.length],
    ['a 103 with headers', 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n'.length],
    ['a 1xx without a reason phrase', 'HTTP/1.1 199\r\n\r\n', 'HTTP/1.1 199\r\n\r\n'.length],
    ["a 101 stays the HTTP client's to refuse", 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 'final'],
    ['undecided before the status code', 'HTTP/1.1 10', 'more'],
    ['undecided before the byte after the code', 'HTTP/1.1 100', 'more'],
    ['undecided before the end of an interim head', 'HTTP/1.1 100 Continue\r\n', 'more'],
    ['a four-digit code is not a 1xx', 'HTTP/1.1 1000 X\r\n\r\n', 'final'],
    ["garbage is the HTTP client's to refuse", 'SPDY/9 banana\r\n\r\n', 'final'],
    ['garbage is decided on its first byte', 'X', 'final'],
    ['a prefix of the status line is undecided', 'HTT', 'more'],
  ])('%s', (_name, text, expected) => {
    expect(scanResponseStart(b(text))).toBe(expected);
  });

  test('an interim head is bounded', () => {
    const long = b(`HTTP/1.1 103 Early Hints\r\nlink: ${'a'.repeat(MAX_INTERIM_HEAD)}`);
    expect(scanResponseStart(long)).toBe('too_large');
    expect(scanResponseStart(long.subarray(0, MAX_INTERIM_HEAD))).toBe('more');
    // Complete, but past the bound all the same.
    expect(scanResponseStart(Buffer.concat([long, b('\r\n\r\n')]))).toBe('too_large');
  });
});

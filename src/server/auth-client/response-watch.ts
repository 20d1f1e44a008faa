import type { Socket } from 'node:net';

/**
 * Longest interim (1xx) head kept while looking for its end: undici's own default bound on a
 * response head. A longer one fails the call as a malformed response.
 */
export const MAX_INTERIM_HEAD = 16 * 1024;

const PREFIX = Buffer.from('HTTP/1.', 'latin1');
/** "HTTP/1.1 100" and the byte after the code. */
const STATUS_LINE_MIN = 13;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CR = 0x0d;
const SP = 0x20;

/**
 * What the bytes at the start of a response are: `final` (pass them on as they are), `more`
 * (undecided until more arrive), `too_large` (an interim head past MAX_INTERIM_HEAD), or the
 * length of an interim head to drop. 101 is not interim here: a switch of protocols nobody asked
 * for stays the failure the HTTP client makes of it.
 */
export function scanResponseStart(buf: Buffer): number | 'final' | 'more' | 'too_large' {
  const prefix = Math.min(buf.length, PREFIX.length);
  if (buf.compare(PREFIX, 0, prefix, 0, prefix) !== 0) return 'final';
  if (buf.length < STATUS_LINE_MIN) return 'more';
  const d0 = buf[9] - 0x30;
  const d1 = buf[10] - 0x30;
  const d2 = buf[11] - 0x30;
  const wellFormed = buf[8] === SP && d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && (buf[12] === SP || buf[12] === CR);
  if (!wellFormed) return 'final';
  const status = d0 * 100 + d1 * 10 + d2;
  if (status < 100 || status >= 200 || status === 101) return 'final';
  const end = buf.indexOf(HEAD_END);
  if (end === -1) return buf.length > MAX_INTERIM_HEAD ? 'too_large' : 'more';
  return end + HEAD_END.length > MAX_INTERIM_HEAD ? 'too_large' : end + HEAD_END.length;
}

/** Errors of calls whose connection closed or reset before any byte of their response arrived. */
const beforeResponse = new WeakSet<object>();

/** Whether `err` ended a call on a connection that closed or reset before any response byte arrived. */
export function closedBeforeResponse(err: unknown): boolean {
  return typeof err === 'object' && err !== null && beforeResponse.has(err);
}

/**
 * Watches one HTTP/1.1 connection with pipelining 1 (each request is written only once the
 * previous response is complete, so a response starts with the first bytes read after a write):
 * - drops interim (1xx) heads at the start of each response, whatever the HTTP client would do
 *   with them (RFC 9110 §15.2: a client must parse 1xx responses it did not ask for; undici 7
 *   destroys the connection on an unsolicited 100);
 * - marks the error of a connection that closes or resets after a request was written and
 *   before any byte came back (`closedBeforeResponse`): the keep-alive race a retry may repair.
 * Installed by the pool's connect function before the HTTP client adds its own listeners, so
 * ours run first. Works on the socket instance (read, write), as undici reads with `read()`.
 */
export function watchResponses(socket: Socket): void {
  let awaitingFirstByte = false;
  let atResponseStart = false;
  let pending: Buffer | undefined;

  const write = socket.write as (...args: unknown[]) => boolean;
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    awaitingFirstByte = true;
    atResponseStart = true;
    pending = undefined;
    return write.apply(this, args);
  } as Socket['write'];

  const read = socket.read as (size?: number) => Buffer | null;
  socket.read = function (this: Socket, size?: number): Buffer | null {
    for (;;) {
      const chunk = read.call(this, size);
      if (chunk === null) return null;
      awaitingFirstByte = false;
      if (!atResponseStart) return chunk;
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      while (buf.length > 0) {
        const scan = scanResponseStart(buf);
        if (scan === 'final') {
          atResponseStart = false;
          return buf;
        }
        if (scan === 'too_large') {
          this.destroy(
            Object.assign(new Error(`interim (1xx) response head over ${MAX_INTERIM_HEAD} bytes`), { code: 'UND_ERR_HEADERS_OVERFLOW' }),
          );
          return null;
        }
        if (scan === 'more') {
          pending = buf;
          break;
        }
        buf = buf.subarray(scan);
      }
    }
  } as Socket['read'];

  socket.on('error', (err) => {
    if (awaitingFirstByte) beforeResponse.add(err);
  });
  socket.on('end', () => {
    if (!awaitingFirstByte) return;
    const err = Object.assign(new Error('the auth service closed the connection before any byte of a response'), {
      code: 'UND_ERR_SOCKET',
    });
    beforeResponse.add(err);
    socket.destroy(err);
  });
}

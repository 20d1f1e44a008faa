import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../../config';

/**
 * Log lines waiting for stdout are held up to this many bytes; past it, new lines are dropped
 * (and counted) rather than let a stalled log reader grow the process without bound.
 */
export const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/** Bytes per write to stdout; about ten decision lines. */
const MAX_WRITE_BYTES = 2048;

/**
 * JSON logs on stdout, written asynchronously so a slow reader never blocks a check, and flushed
 * on exit. Nothing that could carry a credential is ever passed to the logger; the redact list is
 * a second line of defence should a header object slip into a log call.
 */
export function createLogger(level: LogLevel, onDrop?: () => void): Logger {
  const destination = pino.destination({
    dest: 1,
    sync: false,
    contentMode: 'buffer',
    maxWrite: MAX_WRITE_BYTES,
    maxLength: MAX_PENDING_LOG_BYTES,
  });
  if (onDrop) destination.on('drop', onDrop);
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers["proxy-authorization"]', '*.token'],
        censor: '[redacted]',
      },
    },
    asBuffers(destination),
  );
}

/**
 * pino writes each line as a string; the destination is given it as a Buffer. In its text mode
 * sonic-boom appends the line to its pending chunk and measures the whole chunk again on every
 * line, which flattened and copied up to a chunk per line: most of the garbage a decision line
 * made. With Buffers it keeps a list and a byte count, and joins them once per write.
 */
function asBuffers(destination: ReturnType<typeof pino.destination>): DestinationStream {
  // sonic-boom's types know only its text mode.
  const writeBuffer = destination.write.bind(destination) as unknown as (line: Buffer) => boolean;
  return {
    write: (line: string) => writeBuffer(Buffer.from(line)),
    flush: (cb?: (err?: Error) => void) => destination.flush(cb),
    flushSync: () => destination.flushSync(),
  } as DestinationStream;
}

export type { Logger };

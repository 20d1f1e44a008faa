import { fstatSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../../config';
import { logDestination } from './log-destination';

/**
 * Log lines waiting for stdout are held up to this many bytes; past it, new lines are dropped
 * (and counted) rather than let a stalled log reader grow the process without bound.
 */
export const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/**
 * JSON logs on stdout, written asynchronously so a slow reader never blocks a check, and flushed
 * on exit. Nothing that could carry a credential is ever passed to the logger; the redact list is
 * a second line of defence should a header object slip into a log call.
 */
export function createLogger(level: LogLevel, onDrop?: () => void): Logger {
  makeStdoutNonBlocking();
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers["proxy-authorization"]', '*.token'],
        censor: '[redacted]',
      },
    },
    logDestination({ dest: 1, maxPendingBytes: MAX_PENDING_LOG_BYTES, onDrop }),
  );
}

/**
 * A write to a full pipe that blocks parks one of libuv's threads for good, and exiting joins those
 * threads: a drained process whose log reader stopped could then never exit. Node opens a pipe or
 * socket stdout in non-blocking mode when `process.stdout` is first touched; then a full pipe
 * answers EAGAIN, which the destination retries from a timer, and the exit stays bounded
 * (exit-after-flush.ts). A file or terminal is left as it is.
 */
function makeStdoutNonBlocking(): void {
  let stat;
  try {
    stat = fstatSync(1);
  } catch {
    return;
  }
  if (stat.isFIFO() || stat.isSocket()) void process.stdout;
}

export type { Logger };

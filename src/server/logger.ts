import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config';

/**
 * JSON logs on stdout. Nothing that could carry a credential is ever passed to the logger;
 * the redact list is a second line of defence should a header object slip into a log call.
 */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers["proxy-authorization"]', '*.token'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };

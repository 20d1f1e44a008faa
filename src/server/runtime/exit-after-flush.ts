import { write } from 'node:fs';
import { pendingLog, type Logger } from '../observability';

/** How long the one stderr line about unwritten log output may take; stderr may be as stuck as stdout. */
const REPORT_TIMEOUT_MS = 250;

/**
 * Exits once the log lines still waiting for stdout are written, or after `timeoutMs` without
 * them. pino's own exit hook flushes synchronously and retries a full pipe for ever, so a reader
 * that stopped reading would keep a drained process alive; past the bound the destination is
 * dropped (which also disarms that hook) and the number of bytes lost goes to stderr.
 */
export async function exitAfterLogFlush(logger: Logger, code: number, timeoutMs: number): Promise<never> {
  const unwritten = await flushWithin(logger, timeoutMs);
  if (unwritten > 0) {
    const line = JSON.stringify({
      level: 40,
      time: Date.now(),
      pid: process.pid,
      msg: 'exiting with log output not written: stdout did not take it within shutdown.logFlushTimeout',
      unwrittenBytes: unwritten,
    });
    // Asynchronous, so a stuck stderr costs at most the bound, not the exit.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REPORT_TIMEOUT_MS);
      write(2, `${line}\n`, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  process.exit(code);
}

/** Bytes left unwritten: 0 once flushed, or for a destination that writes synchronously. */
async function flushWithin(logger: Logger, timeoutMs: number): Promise<number> {
  const log = pendingLog(logger);
  if (!log || log.pendingBytes() === 0) return 0;
  let timer: NodeJS.Timeout | undefined;
  let stopWatching: (() => void) | undefined;
  const flushed = await Promise.race([
    new Promise<boolean>((resolve) => {
      stopWatching = log.onWrite(() => {
        if (log.pendingBytes() === 0) resolve(true);
      });
      // Its callback can come before all of it is written, so it is not waited on.
      log.flush();
    }),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  stopWatching?.();
  if (flushed) return 0;
  const left = Math.max(log.pendingBytes(), 1);
  log.destroy();
  return left;
}

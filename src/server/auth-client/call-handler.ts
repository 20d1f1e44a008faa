import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { AuthResponse } from '../../translate';
import type { AttemptResult } from './auth-client';
import type { Cancellation } from './cancellation';
import { classify } from './classify-error';
import { closedBeforeResponse } from './response-watch';

/** Why the adapter itself ended a call early; the reason undici reports back is ignored. */
class CallStopped extends Error {}

/**
 * One call through undici's dispatch API, which hands over the response as it is parsed: no
 * body stream, async iterator or AbortSignal per call. Settles exactly once: on the response's
 * end, on the body reaching `maxBodyBytes` (kept so far, then the connection is dropped rather
 * than drain an endless body), on an error, on the timeout (headers and body together) or on
 * cancellation.
 */
export class AuthCallHandler implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private status = 0;
  private headers: AuthResponse['headers'] = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    timeoutMs: number,
    private readonly maxBodyBytes: number,
    private readonly cancel: Cancellation | undefined,
    /** Whether every connection of the pool is held by other calls (see AuthClient). */
    private readonly waitedForBusyPool: () => boolean,
    private readonly settle: (result: AttemptResult) => void,
  ) {
    this.timer = setTimeout(stopOnTimeout, timeoutMs, this);
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
    const room = this.maxBodyBytes - this.size;
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
    if (this.settled) return;
    const cause = classify(err);
    const silent = closedBeforeResponse(err);
    const refused = (err as { code?: string }).code === 'ECONNREFUSED';
    this.finish({
      ok: false,
      cause,
      elapsedMs: performance.now() - this.started,
      retryable: refused || silent,
      notAnswering: cause === 'connect' || cause === 'timeout' || silent,
    });
  }

  stop(cause: 'timeout' | 'cancelled'): void {
    if (this.settled) return;
    // A timeout counts against the service once the request was on the wire, or while a new
    // connection to it was being made; not while it queued behind calls holding every connection.
    const notAnswering = cause === 'timeout' && (this.controller !== undefined || !this.waitedForBusyPool());
    this.finish({ ok: false, cause, elapsedMs: performance.now() - this.started, retryable: false, notAnswering });
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

  private finish(result: AttemptResult): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.cancel?.onCancel(undefined);
    this.settle(result);
  }
}

function stopOnTimeout(handler: AuthCallHandler): void {
  handler.stop('timeout');
}

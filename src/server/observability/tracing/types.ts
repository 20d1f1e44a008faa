import type { Decision } from '../../../translate';
import type { AuthCallObserver } from '../../auth-client';

/**
 * Tracing as the Check path sees it. Absent when tracing is off, so the path tests one value and
 * never creates a span, not even a no-op one.
 */
export interface CheckTracer {
  /**
   * Starts the SERVER span of one Check, continuing the trace whose context is in the request's
   * headers (none for an unreadable request), else the one in the call's gRPC metadata.
   */
  startCheck(headers: ReadonlyMap<string, string> | undefined, metadata: CallMetadata | undefined): CheckSpan;
}

/** What the tracer reads of a gRPC call's metadata (grpc-js's Metadata). */
export interface CallMetadata {
  get(key: string): Array<string | Buffer>;
  getMap(): Record<string, string | Buffer>;
}

/** Observes the check's auth calls: each is a CLIENT span whose context the auth request carries. */
export interface CheckSpan extends AuthCallObserver {
  /**
   * Records the answer and ends the span; `calls` say whether the decision cache or a shared call
   * answered, `error` what the adapter failed on (reason `internal_error`).
   */
  end(decision: Decision, calls: ReadonlyArray<{ readonly shared?: 'cache' | 'coalesced' }>, error?: unknown): void;
}

export interface Tracing {
  readonly tracer: CheckTracer;
  /** Exports what is queued, then stops; resolves even when the collector is unreachable. */
  shutdown(): Promise<void>;
}

import type { ServiceSettings } from '../../config';
import type { AuthRequest, Decision } from '../../translate';

/**
 * Tracing as the Check path sees it. Absent when tracing is off, so the path tests one value and
 * never creates a span, not even a no-op one.
 */
export interface CheckTracer {
  /**
   * Starts the SERVER span of one Check, continuing the trace whose context is in the request's
   * headers (none for an unreadable request), else the one in the call's gRPC metadata.
   */
  startCheck(headers: ReadonlyMap<string, string> | undefined, metadata: CallMetadata): CheckSpan;
}

/** What the tracer reads of a gRPC call's metadata (grpc-js's Metadata). */
export interface CallMetadata {
  get(key: string): Array<string | Buffer>;
  getMap(): Record<string, string | Buffer>;
}

export interface CheckSpan {
  /** Starts the CLIENT span of one auth call; its `request` carries that span's context. */
  startAuthCall(service: ServiceSettings, request: AuthRequest): AuthCallSpan;
  /** Records the answer; `calls` say whether the decision cache or a shared call answered. */
  end(decision: Decision, calls: ReadonlyArray<{ readonly shared?: 'cache' | 'coalesced' }>): void;
  /** The Check failed inside the adapter. */
  fail(err: unknown): void;
}

/** How one auth call ended, as the auth client reports it. */
export type AuthCallEnd =
  { readonly ok: true; readonly response: { readonly status: number } } | { readonly ok: false; readonly cause: string };

export interface AuthCallSpan {
  readonly request: AuthRequest;
  end(result: AuthCallEnd): void;
}

export interface Tracing {
  readonly tracer: CheckTracer;
  /** Exports what is queued, then stops; resolves even when the collector is unreachable. */
  shutdown(): Promise<void>;
}

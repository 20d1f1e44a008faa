/** Header pairs in order, names lowercased. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Auth response headers for CheckResponse.dynamic_metadata, by lowercase name. */
export type Metadata = Readonly<Record<string, string>>;

/** The HTTP request sent to the auth service: everything it can base its answer on. */
export interface AuthRequest {
  readonly method: string;
  /** `service.path` + normalized original path + "?" + raw query. */
  readonly path: string;
  /** Lowercased names. Host, content-length, token header(s), allowed and trace headers only. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** The auth service's answer, bounded: body cut at `response.maxBodyBytes`. */
export interface AuthResponse {
  readonly status: number;
  /** Lowercased names; repeated headers as arrays (set-cookie). */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
  /** The body went on past `response.maxBodyBytes` and was cut there, possibly inside a UTF-8 character. */
  readonly truncated?: boolean;
}

/**
 * Reasons are string constants reused as metric labels and log fields, narrowed per variant of
 * Decision so that an allow cannot carry a denial's reason.
 * `unavailable_*` are what the rule's mode made of an unreachable auth service; `overloaded` is
 * the adapter's own bound (`service.maxConcurrent`), which no mode lets through; `cancelled` is a
 * check whose caller (Envoy) went away before it was answered, never the auth service's failure.
 */
export type AllowReason = 'bypass' | 'auth_allowed' | 'unavailable_loose' | 'dry_run_denied';
export type DenyReason =
  | 'auth_denied'
  | 'result_header_false'
  | 'unavailable_strict'
  | 'unknown_rule'
  | 'invalid_request'
  | 'request_too_large'
  | 'overloaded'
  | 'cancelled'
  | 'internal_error';
export type Reason = AllowReason | DenyReason;

/**
 * Why an auth call did not bring an answer; metric label `kind`. `overload` and
 * `request_too_large` are the adapter's own bounds: counted under the same label, but denied in
 * every mode, never "unavailable". `circuit_open`: not asked, as the service stopped answering
 * (the pool's circuit breaker is open); the rule's mode applies as to any unavailable service.
 */
export type UnavailableKind = 'connect' | 'timeout' | 'reset' | '5xx' | 'overload' | 'protocol' | 'request_too_large' | 'circuit_open';

/** What one auth service call came to, before the rule's mode is applied. */
export type AuthOutcome =
  | ({ readonly kind: 'allow'; readonly headersToSet: HeaderList; readonly headersToRemove: readonly string[] } & AllowExtras)
  | {
      readonly kind: 'deny';
      readonly reason: 'auth_denied' | 'result_header_false';
      readonly status: number;
      readonly headers: HeaderList;
      readonly body: Buffer;
      readonly metadata?: Metadata;
    }
  | { readonly kind: 'unavailable'; readonly cause: UnavailableKind; readonly status?: number };

/** The one result of a check, turned into a CheckResponse by `toCheckResponse`. */
export type Decision =
  | ({
      readonly kind: 'allow';
      readonly reason: AllowReason;
      readonly rule: string;
      readonly headersToSet: HeaderList;
      readonly headersToRemove: readonly string[];
    } & AllowExtras)
  | {
      readonly kind: 'deny';
      readonly reason: DenyReason;
      readonly rule: string;
      readonly status: number;
      readonly headers: HeaderList;
      readonly body: Buffer;
      readonly metadata?: Metadata;
    };

/** What an allow may carry besides headers to set and remove; absent means none. */
export interface AllowExtras {
  /** Upstream, one entry per value (`response.appendHeaders`); the first of a name replaces the client's. */
  readonly headersToAppend?: HeaderList;
  /** Removed upstream whatever any auth service set: `request.removeHeaders`, `x-envoy-auth-headers-to-remove`. */
  readonly removeRequested?: readonly string[];
  /** To the client with the upstream's answer (`response.clientHeadersOnSuccess`), every occurrence. */
  readonly clientHeaders?: HeaderList;
  readonly metadata?: Metadata;
}

/**
 * What the matcher sees of a request: plain, read-only data built once per check by
 * src/translate. No protobuf or HTTP types cross this line.
 */
export interface CheckInput {
  readonly method: string;
  /** `:authority` as Envoy sent it (may carry a port). */
  readonly host: string;
  /** `:path`: the normalized path plus "?" and the raw query when there is one. */
  readonly path: string;
  /** The normalized path without query or fragment: what `url_path` and simple `path` conditions match. */
  readonly pathOnly: string;
  /**
   * False when the path could not be normalized safely (climbs above "/", holds an encoded
   * "/" or "\", a bad escape, a control character, no leading "/"). Such a request must be
   * authenticated under every rule: it never skips authentication.
   */
  readonly pathSafe: boolean;
  /**
   * False when the host is not a DNS name or an IP literal with an optional port (it holds a
   * "%", a space, a control character...). Like an unsafe path, it needs authentication under
   * every rule.
   */
  readonly hostSafe: boolean;
  /** Why the path or host is unsafe, for `explain`; "" when both are safe. */
  readonly unsafeReason: string;
  /**
   * The same request with the path as sent: dot-segments unresolved, "//" unmerged, escapes
   * undecoded. Backends such as Express route on this reading, so `/admin/../shop` reaches
   * their `/admin/*` handler; a rule takes whichever reading needs authentication. Undefined
   * when the path was already normal (both readings agree) or is unsafe.
   */
  readonly literal: CheckInput | undefined;
  readonly scheme: string;
  /** Lowercased names; repeated headers joined with "," as Envoy does. Includes no pseudo-headers. */
  readonly headers: ReadonlyMap<string, string>;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** TLS SNI from `tls_session.sni`, "" when none. */
  readonly sni: string;
  /** `metadata_context.filter_metadata`, decoded to plain JSON values. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** One compiled node of a condition tree. */
export interface Matcher {
  matches(input: CheckInput): boolean;
}

/** Why a rule decided what it did: the key path of the deciding condition or permission branch. */
export interface MatchExplanation {
  readonly needsAuth: boolean;
  readonly reason: string;
  /** Key paths into the config, outermost first, of the nodes that decided the outcome. */
  readonly trace: readonly string[];
  /** The same nodes as `trace`, each with what it tests and whether it held for this request. */
  readonly steps?: readonly TraceStep[];
}

/** One node of an explanation's trace. */
export interface TraceStep {
  readonly path: string;
  readonly label: string;
  readonly matched: boolean;
}

/** A rule's compiled `match` block. */
export interface RuleMatcher {
  needsAuth(input: CheckInput): boolean;
  explain(input: CheckInput): MatchExplanation;
}

/**
 * A compiled node that can also say why it decided: `trace` evaluates like `matches` and
 * appends the nodes that decided the result, outermost first. Only the debug path calls it.
 */
export interface TracedMatcher extends Matcher {
  /** Key path of this node in the config (`rules[0].match.permissions[0].or_rules.rules[2]`). */
  readonly path: string;
  /** Short human description of the node (`url_path exact "/api/"`). */
  readonly label: string;
  trace(input: CheckInput, out: TracedMatcher[]): boolean;
}

/** A compiled StringMatcher: one test of a string value, prepared at load. */
export interface StringMatcher {
  match(value: string): boolean;
  readonly label: string;
}

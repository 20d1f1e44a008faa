import type { AllowReason, Decision, HeaderList, Metadata } from '../../translate';
import { derivedOnce } from './derived-once';
import type { RuleScope } from './serving-config';

type Allow = Extract<Decision, { kind: 'allow' }>;
type Deny = Extract<Decision, { kind: 'deny' }>;

const NONE: HeaderList = [];

/**
 * The allow of a check that every rule in scope let through, built rule by rule:
 * - headers each allowing rule set (overwrite) or appended;
 * - every header an auth service of this config could vouch for (vouched-headers.ts) removed
 *   unless an auth service set or appended it on this very request, so a client's copy never
 *   reaches the backend as the service's;
 * - removed whatever was set: the `request.removeHeaders` of every rule in scope, and the names
 *   an auth service asked to remove (`x-envoy-auth-headers-to-remove`);
 * - headers for the client and dynamic metadata, later rules' metadata replacing earlier.
 *
 * `rule` names the last rule that asked the auth service; when none did (`bypass`), the one rule
 * in scope, or "" when several were. A request let through without an answer
 * (`unavailable_loose`) or by a dry run (`dry_run_denied`) stays marked so, the dry run under its
 * own rule's name, so it is counted there.
 *
 * The allows are kept and merged once at the end: most checks have one, which passes through
 * as it is.
 */
export class AllowMerge {
  private readonly allows: Allow[] = [];
  private reason: AllowReason = 'bypass';
  private rule: string;

  constructor(
    private readonly vouchedHeaders: readonly string[],
    private readonly scope: Pick<RuleScope, 'rules' | 'removeHeaders'> & Partial<Pick<RuleScope, 'mergedOnce'>>,
  ) {
    this.rule = scope.rules.length === 1 ? scope.rules[0].settings.name : '';
  }

  /** No rule in scope has allowed yet: every one so far bypassed. */
  get empty(): boolean {
    return this.allows.length === 0;
  }

  add(allow: Allow): void {
    this.allows.push(allow);
    if (this.reason === 'dry_run_denied') return;
    if (allow.reason === 'dry_run_denied' || this.reason !== 'unavailable_loose') this.reason = allow.reason;
    this.rule = allow.rule;
  }

  /** A denial that ends the check carries the metadata gathered from the rules before it. */
  deny(denial: Deny): Deny {
    const metadata = this.metadata();
    if (!metadata) return denial;
    return { ...denial, metadata: { ...metadata, ...denial.metadata } };
  }

  decision(): Allow {
    const { allows } = this;
    const one = allows.length === 1 ? allows[0] : undefined;
    // One shared (frozen) allow, from the decision cache: the merge is the same every time.
    const memo = this.scope.mergedOnce;
    if (!one || !memo || !Object.isFrozen(one)) return this.merge(one);
    return derivedOnce(memo, one, (shared) => Object.freeze(this.merge(shared)));
  }

  private merge(one: Allow | undefined): Allow {
    const { allows } = this;
    const headersToSet = one ? one.headersToSet : lastValues(allows);
    const appended = one ? (one.headersToAppend ?? NONE) : allows.flatMap((a) => a.headersToAppend ?? NONE);
    const client = one ? (one.clientHeaders ?? NONE) : allows.flatMap((a) => a.clientHeaders ?? NONE);
    const requested = this.requested();
    return {
      kind: 'allow',
      reason: this.reason,
      rule: this.rule,
      headersToSet,
      headersToRemove: this.vouchedHeaders.filter((name) => !named(headersToSet, name) && !named(appended, name)),
      headersToAppend: appended.length > 0 ? appended : undefined,
      removeRequested: requested.length > 0 ? requested : undefined,
      clientHeaders: client.length > 0 ? client : undefined,
      metadata: this.metadata(),
    };
  }

  private requested(): readonly string[] {
    let out: string[] | undefined;
    for (const allow of this.allows) {
      for (const name of allow.removeRequested ?? []) {
        out ??= [...this.scope.removeHeaders];
        if (!out.includes(name)) out.push(name);
      }
    }
    return out ?? this.scope.removeHeaders;
  }

  private metadata(): Metadata | undefined {
    let out: Metadata | undefined;
    for (const allow of this.allows) {
      if (allow.metadata) out = out ? { ...out, ...allow.metadata } : allow.metadata;
    }
    return out;
  }
}

/** Each name once, at its first place, with the value the last rule set. */
function lastValues(allows: readonly Allow[]): HeaderList {
  const set = new Map<string, string>();
  for (const allow of allows) for (const [name, value] of allow.headersToSet) set.set(name, value);
  return [...set];
}

function named(headers: HeaderList, name: string): boolean {
  for (const header of headers) if (header[0] === name) return true;
  return false;
}

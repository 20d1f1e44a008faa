import type { AllowReason, Decision, HeaderList } from '../../translate';
import type { ServingRule } from './serving-config';

type Allow = Extract<Decision, { kind: 'allow' }>;
type Deny = Extract<Decision, { kind: 'deny' }>;

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
 */
export class AllowMerge {
  private readonly set = new Map<string, string>();
  private readonly appended: Array<readonly [string, string]> = [];
  private readonly client: Array<readonly [string, string]> = [];
  private readonly remove: Set<string>;
  private readonly requested = new Set<string>();
  private metadata: Record<string, string> | undefined;
  private reason: AllowReason = 'bypass';
  private rule: string;

  constructor(vouchedHeaders: readonly string[], rules: readonly ServingRule[]) {
    this.remove = new Set(vouchedHeaders);
    this.rule = rules.length === 1 ? rules[0].settings.name : '';
    for (const rule of rules) for (const name of rule.settings.request.removeHeaders) this.requested.add(name);
  }

  add(allow: Allow): void {
    for (const [name, value] of allow.headersToSet) {
      this.set.set(name, value);
      this.remove.delete(name);
    }
    if (allow.headersToAppend) {
      for (const header of allow.headersToAppend) {
        this.appended.push(header);
        this.remove.delete(header[0]);
      }
    }
    if (allow.clientHeaders) this.client.push(...allow.clientHeaders);
    if (allow.removeRequested) for (const name of allow.removeRequested) this.requested.add(name);
    if (allow.metadata) this.metadata = { ...this.metadata, ...allow.metadata };
    if (this.reason === 'dry_run_denied') return;
    if (allow.reason === 'dry_run_denied' || this.reason !== 'unavailable_loose') this.reason = allow.reason;
    this.rule = allow.rule;
  }

  /** A denial that ends the check carries the metadata gathered from the rules before it. */
  deny(denial: Deny): Deny {
    if (!this.metadata) return denial;
    return { ...denial, metadata: { ...this.metadata, ...denial.metadata } };
  }

  decision(): Allow {
    const headersToSet: HeaderList = [...this.set];
    return {
      kind: 'allow',
      reason: this.reason,
      rule: this.rule,
      headersToSet,
      headersToRemove: [...this.remove],
      ...(this.appended.length > 0 && { headersToAppend: this.appended }),
      ...(this.requested.size > 0 && { removeRequested: [...this.requested] }),
      ...(this.client.length > 0 && { clientHeaders: this.client }),
      ...(this.metadata && { metadata: this.metadata }),
    };
  }
}

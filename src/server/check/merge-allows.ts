import type { AllowReason, Decision, HeaderList } from '../../translate';
import type { ServingRule } from './serving-config';

type Allow = Extract<Decision, { kind: 'allow' }>;

/**
 * The allow of a check that every rule in scope let through: the headers each allowing rule set,
 * and every header an auth service of this config could vouch for (vouched-headers.ts) removed
 * unless an auth service set it on this very request, so a client's copy never reaches the
 * backend as the service's.
 *
 * `rule` names the last rule that asked the auth service; when none did (`bypass`), the one rule
 * in scope, or "" when several were.
 */
export class AllowMerge {
  private readonly set = new Map<string, string>();
  private readonly remove: Set<string>;
  private reason: AllowReason = 'bypass';
  private rule: string;

  constructor(vouchedHeaders: readonly string[], rules: readonly ServingRule[]) {
    this.remove = new Set(vouchedHeaders);
    this.rule = rules.length === 1 ? rules[0].settings.name : '';
  }

  add(allow: Allow): void {
    for (const [name, value] of allow.headersToSet) {
      this.set.set(name, value);
      this.remove.delete(name);
    }
    // A request let through without an answer stays marked so, whatever later rules said.
    if (this.reason !== 'unavailable_loose') this.reason = allow.reason;
    this.rule = allow.rule;
  }

  decision(): Allow {
    const headersToSet: HeaderList = [...this.set];
    return { kind: 'allow', reason: this.reason, rule: this.rule, headersToSet, headersToRemove: [...this.remove] };
  }
}

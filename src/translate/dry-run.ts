import type { RuleSettings } from '../config';
import type { Decision } from './types';

/**
 * `dryRun: true`: the rule's denial, whatever its reason, becomes an allow (reason
 * `dry_run_denied`) that carries nothing from the auth service, so headers it vouches for stay
 * removed, as when it is unavailable in loose mode. The denial itself is only logged and counted.
 */
export function dryRunAllow(rule: RuleSettings): Extract<Decision, { readonly kind: 'allow' }> {
  return {
    kind: 'allow',
    reason: 'dry_run_denied',
    rule: rule.name,
    headersToSet: [],
    headersToRemove: [...rule.response.allowedHeaders, ...rule.response.appendHeaders],
  };
}

import type { RuleSettings } from '../config';
import { FAILURE_MODE_HEADER } from './failure-mode-header';
import type { AuthOutcome, Decision } from './types';

const EMPTY = Buffer.alloc(0);

/** Applies the rule's mode to an auth outcome: `loose` lets an unavailable service through, `strict` denies. */
export function resolveOutcome(rule: RuleSettings, outcome: AuthOutcome): Decision {
  switch (outcome.kind) {
    case 'allow':
      return { ...outcome, reason: 'auth_allowed', rule: rule.name };
    case 'deny':
      return { ...outcome, rule: rule.name };
    case 'unavailable':
      if (rule.service.mode === 'loose') {
        // No answer means no identity: headers the auth service would have set are stripped, so
        // the client's own copies cannot pass as the service's.
        return {
          kind: 'allow',
          reason: 'unavailable_loose',
          rule: rule.name,
          headersToSet: [[FAILURE_MODE_HEADER, 'true']],
          headersToRemove: [...rule.response.allowedHeaders, ...rule.response.appendHeaders],
        };
      }
      return {
        kind: 'deny',
        reason: 'unavailable_strict',
        rule: rule.name,
        status: rule.service.statusOnError,
        headers: [],
        body: EMPTY,
      };
  }
}

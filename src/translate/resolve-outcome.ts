import type { RuleSettings } from '../config';
import { FAILURE_MODE_HEADER } from './failure-mode-header';
import type { AuthOutcome, Decision } from './types';

const EMPTY = Buffer.alloc(0);

/** Applies the rule's mode to an auth outcome: `loose` lets an unavailable service through, `strict` denies. */
export function resolveOutcome(rule: RuleSettings, outcome: AuthOutcome): Decision {
  switch (outcome.kind) {
    // Spelled out rather than spread: one object shape for every allow (and every denial), which
    // keeps the code that reads decisions on V8's fast path.
    case 'allow':
      return {
        kind: 'allow',
        reason: 'auth_allowed',
        rule: rule.name,
        headersToSet: outcome.headersToSet,
        headersToRemove: outcome.headersToRemove,
        headersToAppend: outcome.headersToAppend,
        removeRequested: outcome.removeRequested,
        clientHeaders: outcome.clientHeaders,
        metadata: outcome.metadata,
      };
    case 'deny':
      return {
        kind: 'deny',
        reason: outcome.reason,
        rule: rule.name,
        status: outcome.status,
        headers: outcome.headers,
        body: outcome.body,
        metadata: outcome.metadata,
      };
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

import type { Issues, RawMatch } from '../config';
import type { MatchExplanation, RuleMatcher } from './types';

const ALWAYS: MatchExplanation = { needsAuth: true, reason: 'mode all: every request is authenticated', trace: [] };

/** Compiles a rule's `match` block once, at config load. */
export function compileMatch(raw: RawMatch, issues: Issues): RuleMatcher {
  if (raw.mode !== 'all') issues.add(raw.path, `mode ${raw.mode} is not supported yet`);
  return { needsAuth: () => true, explain: () => ALWAYS };
}

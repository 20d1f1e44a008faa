import { keyPath, readList, type Issues, type MatchMode, type RawMatch } from '../config';
import { compileConditions } from './compile-conditions';
import { compilePermission } from './compile-permission';
import { ConstMatcher, OrMatcher } from './logical';
import type { CheckInput, MatchExplanation, RuleMatcher, TracedMatcher } from './types';

const UNSAFE_REASON =
  'path could not be normalized safely (it climbs above "/", holds an encoded "/" or "\\", a bad escape or a control character), so it is authenticated under every rule';

const UNSAFE: MatchExplanation = { needsAuth: true, reason: UNSAFE_REASON, trace: [] };

class AllRule implements RuleMatcher {
  private readonly explanation: MatchExplanation;
  constructor(path: string) {
    this.explanation = { needsAuth: true, reason: 'mode all: every request is authenticated', trace: [keyPath(path, 'mode')] };
  }
  needsAuth(): boolean {
    return true;
  }
  explain(input: CheckInput): MatchExplanation {
    return input.pathSafe ? this.explanation : UNSAFE;
  }
}

/**
 * whitelist: a match skips authentication; blacklist and complex: a match needs it. An
 * unsafe path always needs it, whatever the tree says.
 */
class TreeRule implements RuleMatcher {
  constructor(
    private readonly mode: MatchMode,
    private readonly root: TracedMatcher,
    private readonly matchNeedsAuth: boolean,
  ) {}

  needsAuth(input: CheckInput): boolean {
    if (!input.pathSafe) return true;
    return this.root.matches(input) === this.matchNeedsAuth;
  }

  explain(input: CheckInput): MatchExplanation {
    if (!input.pathSafe) return UNSAFE;
    const nodes: TracedMatcher[] = [];
    const matched = this.root.trace(input, nodes);
    const needsAuth = matched === this.matchNeedsAuth;
    const last = nodes[nodes.length - 1];
    // The trace of a match is one chain, so its last node is the one that decided.
    const outcome = needsAuth ? 'authentication required' : 'authentication skipped';
    const what = this.mode === 'complex' ? 'permission' : 'condition';
    const reason = matched
      ? `${this.mode}: ${what} matched at ${last.path} (${last.label}); ${outcome}`
      : `${this.mode}: no ${what} matched; ${outcome}`;
    const steps = nodes.map((n) => ({ path: n.path, label: n.label, matched: n.matches(input) }));
    return { needsAuth, reason, trace: nodes.map((n) => n.path), steps };
  }
}

function compilePermissions(value: unknown, path: string, issues: Issues): TracedMatcher {
  const list = readList(value, path, issues);
  if (!list || list.length === 0) {
    if (list || value === undefined || value === null) {
      issues.add(path, 'expected a non-empty list of Envoy RBAC permissions; with none no request would be authenticated');
    }
    return new ConstMatcher(path, 'invalid permissions', false);
  }
  // Envoy ORs a policy's permissions.
  return new OrMatcher(path, 'permissions', list.map((p, i) => compilePermission(p, keyPath(path, i), issues)));
}

/** Compiles a rule's `match` block once, at config load. */
export function compileMatch(raw: RawMatch, issues: Issues): RuleMatcher {
  const mode: MatchMode = raw.mode;
  switch (mode) {
    case 'all':
      return new AllRule(raw.path);
    case 'whitelist':
      return new TreeRule(mode, compileConditions(raw.conditions, keyPath(raw.path, 'conditions'), issues), false);
    case 'blacklist':
      return new TreeRule(mode, compileConditions(raw.conditions, keyPath(raw.path, 'conditions'), issues), true);
    case 'complex':
      return new TreeRule(mode, compilePermissions(raw.permissions, keyPath(raw.path, 'permissions'), issues), true);
    default: {
      const unreachable: never = mode;
      return unreachable;
    }
  }
}

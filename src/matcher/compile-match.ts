import { keyPath, readList, type Issues, type MatchMode, type RawMatch } from '../config';
import { compileConditions } from './compile-conditions';
import { compilePermission } from './compile-permission';
import { ConstMatcher, OrMatcher } from './logical';
import type { NearMissPathMatcher } from './near-miss-path';
import type { CheckInput, MatchExplanation, RuleMatcher, TracedMatcher } from './types';

/** An unsafe path or host needs authentication under every rule; explain says why. */
function unsafeExplanation(input: CheckInput): MatchExplanation {
  return { needsAuth: true, reason: `${input.unsafeReason}, so it is authenticated under every rule`, trace: [] };
}

class AllRule implements RuleMatcher {
  private readonly explanation: MatchExplanation;
  constructor(path: string) {
    this.explanation = { needsAuth: true, reason: 'mode all: every request is authenticated', trace: [keyPath(path, 'mode')] };
  }
  needsAuth(): boolean {
    return true;
  }
  explain(input: CheckInput): MatchExplanation {
    return input.pathSafe && input.hostSafe ? this.explanation : unsafeExplanation(input);
  }
}

/**
 * whitelist: a match skips authentication; blacklist and complex: a match needs it. An
 * unsafe path or host always needs it, whatever the tree says. A path that is not its own
 * normal form has two readings (normalized, and as sent); authentication is needed when
 * either reading needs it.
 */
class TreeRule implements RuleMatcher {
  constructor(
    private readonly mode: MatchMode,
    private readonly root: TracedMatcher,
    private readonly matchNeedsAuth: boolean,
    private readonly nearMisses: readonly NearMissPathMatcher[] = [],
  ) {}

  needsAuth(input: CheckInput): boolean {
    if (!input.pathSafe || !input.hostSafe) return true;
    if (this.root.matches(input) === this.matchNeedsAuth) return true;
    const literal = input.literal;
    return literal !== undefined && this.root.matches(literal) === this.matchNeedsAuth;
  }

  explain(input: CheckInput): MatchExplanation {
    if (!input.pathSafe || !input.hostSafe) return unsafeExplanation(input);
    const normalized = this.explainReading(input);
    const literal = input.literal;
    if (normalized.needsAuth || literal === undefined) return normalized;
    const asSent = this.explainReading(literal);
    if (!asSent.needsAuth) return normalized;
    const why = `the path as sent, ${JSON.stringify(literal.pathOnly)}, is how backends that route without resolving dots, merging "//" or decoding (Express) read it`;
    return { ...asSent, reason: `${why}; ${asSent.reason}` };
  }

  private explainReading(input: CheckInput): MatchExplanation {
    const nodes: TracedMatcher[] = [];
    const matched = this.root.trace(input, nodes);
    const needsAuth = matched === this.matchNeedsAuth;
    const last = nodes[nodes.length - 1];
    // The trace of a match is one chain, so its last node is the one that decided.
    const outcome = needsAuth ? 'authentication required' : 'authentication skipped';
    const what = this.mode === 'complex' ? 'permission' : 'condition';
    let reason = matched
      ? `${this.mode}: ${what} matched at ${last.path} (${last.label}); ${outcome}`
      : `${this.mode}: no ${what} matched; ${outcome}`;
    if (matched) {
      // The deciding condition is last in the chain; a near miss inside it is why it held.
      const notes = this.nearMisses
        .filter((leaf) => leaf.path.startsWith(`${last.path}.`) || leaf.path === last.path)
        .map((leaf) => leaf.resolution(input))
        .filter((note): note is string => note !== undefined);
      if (notes.length > 0) reason += `; ${notes.join('; ')}`;
    }
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
  return new OrMatcher(
    path,
    'permissions',
    list.map((p, i) => compilePermission(p, keyPath(path, i), issues)),
  );
}

/** Compiles a rule's `match` block once, at config load. */
export function compileMatch(raw: RawMatch, issues: Issues): RuleMatcher {
  const mode: MatchMode = raw.mode;
  switch (mode) {
    case 'all':
      return new AllRule(raw.path);
    case 'whitelist':
      return new TreeRule(mode, compileConditions(raw.conditions, keyPath(raw.path, 'conditions'), issues, mode), false);
    case 'blacklist': {
      const nearMisses: NearMissPathMatcher[] = [];
      const root = compileConditions(raw.conditions, keyPath(raw.path, 'conditions'), issues, mode, nearMisses);
      return new TreeRule(mode, root, true, nearMisses);
    }
    case 'complex':
      return new TreeRule(mode, compilePermissions(raw.permissions, keyPath(raw.path, 'permissions'), issues), true);
    default: {
      const unreachable: never = mode;
      return unreachable;
    }
  }
}

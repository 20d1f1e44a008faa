import type { CheckInput, RuleMatcher, TraceStep } from './types';

/** What `explain` needs of a loaded rule. */
export interface ExplainableRule {
  readonly name: string;
  readonly enabled: boolean;
  readonly matcher: RuleMatcher;
}

/** One rule's verdict for one request, with the key paths of the branch that decided it. */
export interface RuleExplanation {
  readonly rule: string;
  readonly enabled: boolean;
  /** False for a disabled rule: it never sends a request to its auth service. */
  readonly needsAuth: boolean;
  readonly reason: string;
  readonly trace: readonly string[];
  /** `trace` with each node's test and result; empty when the outcome needed no tree (mode all, unsafe path). */
  readonly steps: readonly TraceStep[];
}

/** Explains every rule against one request; the debug path only, never called per check. */
export function explainRules(rules: readonly ExplainableRule[], input: CheckInput): RuleExplanation[] {
  return rules.map((r) => {
    const e = r.matcher.explain(input);
    if (!r.enabled) {
      const would = e.needsAuth ? 'need' : 'skip';
      return {
        rule: r.name,
        enabled: false,
        needsAuth: false,
        reason: `rule disabled (enabled: false), so it never authenticates; enabled, it would ${would} authentication: ${e.reason}`,
        trace: e.trace,
        steps: e.steps ?? [],
      };
    }
    return { rule: r.name, enabled: true, needsAuth: e.needsAuth, reason: e.reason, trace: e.trace, steps: e.steps ?? [] };
  });
}

/** Human-readable form for the CLI: one block per rule, the trace listed outermost first. */
export function formatExplanations(list: readonly RuleExplanation[], input: CheckInput): string {
  const lines = [`request: ${input.method} ${input.host} ${input.path}${unsafeNote(input)}`];
  if (input.unsafeReason) lines.push(`resolution: ${input.unsafeReason}`);
  for (const e of list) {
    const verdict = !e.enabled ? 'disabled' : e.needsAuth ? 'NEEDS AUTHENTICATION' : 'no authentication';
    lines.push(`rule ${JSON.stringify(e.rule)}: ${verdict}`);
    lines.push(`  reason: ${e.reason}`);
    if (e.steps.length > 0) {
      lines.push('  trace:');
      for (const s of e.steps) lines.push(`    ${s.matched ? 'yes' : 'no '} ${s.path}: ${s.label}`);
    } else if (e.trace.length > 0) {
      lines.push('  trace:');
      for (const p of e.trace) lines.push(`    ${p}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function unsafeNote(input: CheckInput): string {
  if (!input.pathSafe) return ' (path unsafe: always authenticated)';
  return input.hostSafe ? '' : ' (host unsafe: always authenticated)';
}

/** The `--json` form: the request as matched plus the per-rule verdicts. */
export function explanationsToJson(list: readonly RuleExplanation[], input: CheckInput): string {
  const request = {
    method: input.method,
    host: input.host,
    path: input.path,
    pathOnly: input.pathOnly,
    pathSafe: input.pathSafe,
    hostSafe: input.hostSafe,
    unsafeReason: input.unsafeReason,
  };
  return `${JSON.stringify({ request, rules: list }, null, 2)}\n`;
}

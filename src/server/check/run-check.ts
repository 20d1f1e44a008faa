import { DEFAULTS } from '../../config';
import type { RuleSettings } from '../../config';
import {
  buildAuthRequest,
  dryRunAllow,
  readCheckRequest,
  resolveOutcome,
  type AuthOutcome,
  type CheckRequestMessage,
  type CheckView,
  type Decision,
} from '../../translate';
import { askAuthService, type AuthAnswer } from './ask-auth-service';
import type { AuthCallRecord, Cancellation } from '../auth-client';
import type { CallMetadata, CheckSpan, CheckTracer } from '../observability';
import {
  deny,
  INTERNAL_ERROR_STATUS,
  INVALID_ATTRIBUTES_STATUS,
  INVALID_REQUEST_STATUS,
  METHOD_NOT_ALLOWED_STATUS,
  OVERLOADED_HEADERS,
  OVERLOADED_STATUS,
  TOO_LARGE_STATUS,
} from './denials';
import { derivedOnce } from './derived-once';
import { AllowMerge } from './merge-allows';
import { selectRules } from './select-rules';
import type { ServingConfig, ServingRule } from './serving-config';

export interface CheckResult {
  readonly decision: Decision;
  readonly requestId: string;
  readonly calls: readonly AuthCallRecord[];
  /** Set with reason `internal_error`: what the adapter failed on, for the log. */
  readonly error?: unknown;
  /** For `unknown_rule`: the name the route asked for, as the client sent it (cap it before logging). */
  readonly requestedRule?: string;
  /** What each `dryRun` rule would have decided instead of allowing: logged, never answered. */
  readonly dryRuns?: readonly Decision[];
}

/**
 * The `rule` of an `unknown_rule` denial. The name a route asks for reaches the adapter from the
 * request, so it never becomes a metric label (each distinct name would be a new series for good);
 * parentheses cannot appear in a configured rule name.
 */
export const UNKNOWN_RULE = '(unknown)';

/**
 * One Check, step by step. Each step is a named function in its own file; the first denial ends
 * the check, unless its rule is a dry run, and the allows of every rule in scope are merged.
 * Never rejects: a bug in any step is an `internal_error` denial that keeps the request id. With
 * a `tracer` (tracing on) the check is a span continuing the request's trace, found in its
 * headers or else the call's `metadata`; without one, no tracing work is done at all.
 */
export async function runCheck(
  config: ServingConfig,
  msg: CheckRequestMessage,
  cancel: Cancellation,
  tracer?: CheckTracer,
  metadata?: CallMetadata,
): Promise<CheckResult> {
  let requestId = '';
  const calls: AuthCallRecord[] = [];
  const dryRuns: Decision[] = [];
  let span: CheckSpan | undefined;
  const result = (decision: Decision, error?: unknown): CheckResult => {
    span?.end(decision, calls, error);
    return { decision, requestId, calls, dryRuns };
  };
  try {
    // 1. Read the request (translate/check-request.ts).
    const view = readCheckRequest(msg);
    if (tracer) span = tracer.startCheck('invalid' in view ? undefined : view.input.headers, metadata);
    if ('invalid' in view) return result(deny('invalid_request', '', INVALID_ATTRIBUTES_STATUS));
    requestId = view.requestId;

    // 2. Select the rules in scope (select-rules.ts).
    const scope = selectRules(config, view.ruleName);
    if (!scope) return { ...result(deny('unknown_rule', UNKNOWN_RULE, DEFAULTS.statusOnError)), requestedRule: view.ruleName };

    const allows = new AllowMerge(config.vouchedHeaders, scope);
    for (const rule of scope.rules) {
      // 3. Match: does this rule need authentication for this request (matcher/)?
      if (!rule.matcher.needsAuth(view.input)) continue;

      // 4-6. Build the auth request, ask the auth service, apply the rule's mode (decideForRule).
      const decision = await decideForRule(rule, view, cancel, calls, span);

      // 7. A dry run's denial is logged and counted, never answered (translate/dry-run.ts).
      if (decision.kind === 'deny') {
        // A caller that went away is not a would-be denial: nobody is listening, and the reason stays true.
        if (!rule.settings.dryRun || decision.reason === 'cancelled') return result(allows.deny(decision));
        dryRuns.push(decision);
        allows.add(dryRunAllow(rule.settings));
        continue;
      }

      // 8. Merge this rule's allow with the others' (merge-allows.ts).
      allows.add(decision);
    }
    // No rule needed to ask: the scope's bypass answer, the same object every time.
    return result(allows.empty ? scope.bypass : allows.decision());
  } catch (error) {
    return { ...result(deny('internal_error', '', INTERNAL_ERROR_STATUS), error), error };
  }
}

/** Steps 4 to 6 of one rule: every way they end is this rule's decision, so a dry run can turn any denial into an allow. */
function decideForRule(
  rule: ServingRule,
  view: CheckView,
  cancel: Cancellation,
  calls: AuthCallRecord[],
  span: CheckSpan | undefined,
): Promise<Decision> {
  const { settings } = rule;
  // 4. Build the auth request (translate/build-auth-request.ts). undici would open a tunnel
  // for CONNECT and wait on it until the timeout: never an answer, so never sent.
  if (view.input.method.toUpperCase() === 'CONNECT')
    return Promise.resolve(deny('invalid_request', settings.name, METHOD_NOT_ALLOWED_STATUS));
  const built = buildAuthRequest(settings, view, rule.headerMatchers);
  if (!built.ok) {
    if ('invalid' in built) return Promise.resolve(deny('invalid_request', settings.name, INVALID_REQUEST_STATUS));
    // Counted with the bound's kind, but denied in every mode: only the client can cause it.
    calls.push({ rule: settings.name, unavailable: 'request_too_large', elapsedMs: 0 });
    return Promise.resolve(deny('request_too_large', settings.name, TOO_LARGE_STATUS));
  }

  // 5. Ask the auth service, and interpret its answer (ask-auth-service.ts). A continuation, not
  // an await: a check's state held across the call is what every scavenge meanwhile copies.
  return askAuthService(rule, built.request, cancel, calls, span).then((answer) => decide(settings, answer));
}

/** Steps 5 and 6 once the auth service's answer is in: what it means under this rule. */
function decide(settings: RuleSettings, answer: AuthAnswer): Decision {
  // Nobody is listening any more: fail closed, and count it as the caller's doing.
  if (answer === 'cancelled') return deny('cancelled', settings.name, settings.service.statusOnError);
  // The HTTP client refused what buildAuthRequest let through: the request, not the service, is at fault.
  if (answer === 'invalid_request') return deny('invalid_request', settings.name, INVALID_REQUEST_STATUS);
  // The adapter's own bound: denied in every mode, or a flood of bad tokens would open loose mode.
  if (answer === 'overloaded') return deny('overloaded', settings.name, OVERLOADED_STATUS, OVERLOADED_HEADERS);
  // The adapter failed, not the service: denied in every mode, as an internal error worth a retry.
  if (answer === 'local_failure') return deny('internal_error', settings.name, OVERLOADED_STATUS, OVERLOADED_HEADERS);

  // 6. Apply the rule's mode (translate/resolve-outcome.ts).
  return resolveShared(settings, answer);
}

/**
 * A frozen outcome is shared: the decision cache hands the same one to every hit. What an allow
 * resolves to under its rule is then the same every time (a cache is kept across reloads only
 * with its rule's name and answer settings), so it is resolved once, and frozen in turn so that
 * the merge and the encoding are done once too, and kept as long as the entry (decision-cache.ts
 * counts them). A denial is resolved on each hit: its page can be large, and an encoded copy
 * beside the entry would double what `cache.maxBytes` bounds.
 */
const resolvedOnce = new WeakMap<AuthOutcome, Decision>();

function resolveShared(settings: RuleSettings, answer: AuthOutcome): Decision {
  if (answer.kind !== 'allow' || !Object.isFrozen(answer)) return resolveOutcome(settings, answer);
  return derivedOnce(resolvedOnce, answer, (shared) => Object.freeze(resolveOutcome(settings, shared)));
}

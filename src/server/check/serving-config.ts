import type { AdapterSettings, RuleSettings } from '../../config';
import type { HeaderNameFilter, RuleMatcher } from '../../matcher';
import type { AuthCaller, Coalescer, ConcurrencyLimit, DecisionCache, Exchange } from '../auth-client';
import type { Decision } from '../../translate';
import { AllowMerge } from './merge-allows';
import { vouchedHeaders } from './vouched-headers';

/** A rule ready to serve: its compiled conditions and what it reaches the auth service with. */
export interface ServingRule {
  readonly settings: RuleSettings;
  readonly matcher: RuleMatcher;
  /** The StringMatchers of `request.allowedHeaders`, tried on each request header's name. */
  readonly headerMatchers?: HeaderNameFilter;
  readonly client: AuthCaller;
  /** This rule's own bound on auth calls in flight (`service.maxConcurrent`). */
  readonly limit: ConcurrencyLimit;
  /** `cache`: answers reused within their freshness; kept by a reload that leaves their meaning alone. */
  readonly cache?: DecisionCache;
  /** `coalesce: true`: identical concurrent checks share one auth call. */
  readonly coalescer?: Coalescer<Exchange>;
}

/** The rules one check runs, and what follows from them alone; built once per config. */
export interface RuleScope {
  readonly rules: readonly ServingRule[];
  /** The `request.removeHeaders` of every rule in scope, each once, in rule order. */
  readonly removeHeaders: readonly string[];
  /**
   * The answer when no rule in scope needs to ask: the same frozen object for every such check,
   * so the handler encodes it once.
   */
  readonly bypass: Extract<Decision, { kind: 'allow' }>;
  /** The merged answer of a check whose only allow is a shared (frozen) one, by that allow: a cached answer is merged once. */
  readonly mergedOnce: WeakMap<Extract<Decision, { kind: 'allow' }>, Extract<Decision, { kind: 'allow' }>>;
}

/** The config a Check runs against, read once per call so a reload never changes a call midway. */
export interface ServingConfig {
  readonly settings: AdapterSettings;
  readonly rules: readonly ServingRule[];
  readonly byName: ReadonlyMap<string, ServingRule>;
  /** Every enabled rule, in order: what a check runs unless its route names one. */
  readonly everyRule: RuleScope;
  /** Each enabled rule alone, by name: what a route naming it runs. */
  readonly scopeByName: ReadonlyMap<string, RuleScope>;
  /** Removed from every allowed request unless an auth service set it (vouched-headers.ts). */
  readonly vouchedHeaders: readonly string[];
}

/** Indexes `rules` for selectRules, and gathers the headers any of them could vouch for. */
export function servingConfig(settings: AdapterSettings, rules: readonly ServingRule[]): ServingConfig {
  const vouched = vouchedHeaders(settings.rules);
  const enabled = rules.filter((r) => r.settings.enabled);
  return {
    settings,
    rules,
    byName: new Map(rules.map((r) => [r.settings.name, r])),
    everyRule: ruleScope(vouched, enabled),
    scopeByName: new Map(enabled.map((r) => [r.settings.name, ruleScope(vouched, [r])])),
    vouchedHeaders: vouched,
  };
}

function ruleScope(vouched: readonly string[], rules: readonly ServingRule[]): RuleScope {
  const removeHeaders = Object.freeze([...new Set(rules.flatMap((r) => r.settings.request.removeHeaders))]);
  const bypass = new AllowMerge(vouched, { rules, removeHeaders }).decision();
  return {
    rules,
    removeHeaders,
    bypass: Object.freeze({ ...bypass, headersToRemove: Object.freeze(bypass.headersToRemove) }),
    mergedOnce: new WeakMap(),
  };
}

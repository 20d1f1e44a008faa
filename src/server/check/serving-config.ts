import type { AdapterSettings, RuleSettings } from '../../config';
import type { HeaderNameFilter, RuleMatcher } from '../../matcher';
import type { AuthCaller, Coalescer, ConcurrencyLimit, DecisionCache, Exchange } from '../auth-client';
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

/** The config a Check runs against, read once per call so a reload never changes a call midway. */
export interface ServingConfig {
  readonly settings: AdapterSettings;
  readonly rules: readonly ServingRule[];
  readonly enabledRules: readonly ServingRule[];
  readonly byName: ReadonlyMap<string, ServingRule>;
  /** Removed from every allowed request unless an auth service set it (vouched-headers.ts). */
  readonly vouchedHeaders: readonly string[];
}

/** Indexes `rules` for selectRules, and gathers the headers any of them could vouch for. */
export function servingConfig(settings: AdapterSettings, rules: readonly ServingRule[]): ServingConfig {
  return {
    settings,
    rules,
    enabledRules: rules.filter((r) => r.settings.enabled),
    byName: new Map(rules.map((r) => [r.settings.name, r])),
    vouchedHeaders: vouchedHeaders(settings.rules),
  };
}

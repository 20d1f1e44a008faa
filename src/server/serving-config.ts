import type { AdapterSettings, RuleSettings } from '../config';
import type { RuleMatcher } from '../matcher';
import type { AuthCaller } from './auth-client';
import type { Exchange } from './auth-exchange';
import type { Coalescer } from './coalescer';
import type { DecisionCache } from './decision-cache';

/** A rule ready to serve: its compiled conditions and what it reaches the auth service with. */
export interface ServingRule {
  readonly settings: RuleSettings;
  readonly matcher: RuleMatcher;
  readonly client: AuthCaller;
  /** `cache`: answers reused within their freshness; built anew with each config. */
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
}

/** Indexes `rules` for selectRules. */
export function servingConfig(settings: AdapterSettings, rules: readonly ServingRule[]): ServingConfig {
  return {
    settings,
    rules,
    enabledRules: rules.filter((r) => r.settings.enabled),
    byName: new Map(rules.map((r) => [r.settings.name, r])),
  };
}

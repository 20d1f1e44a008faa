import type { RuleScope, ServingConfig } from './serving-config';

/**
 * The rules a check runs: every enabled rule in order, or the one a route pins with
 * `check_settings.context_extensions: { rule: NAME }`. An unknown or disabled name yields
 * undefined, which the caller denies: a route that names a rule expects it to apply.
 */
export function selectRules(config: ServingConfig, ruleName: string | undefined): RuleScope | undefined {
  if (ruleName === undefined || ruleName === '') return config.everyRule;
  return config.scopeByName.get(ruleName);
}

export { compileMatch } from './compile-match';
export { compilePermission } from './compile-permission';
export { compileConditions } from './compile-conditions';
export { compileHeaderMatcher } from './header-matcher';
export { compileStringMatcher } from './string-matcher';
export { explainRules, formatExplanations, explanationsToJson } from './explain';
export type { ExplainableRule, RuleExplanation } from './explain';
export type { CheckInput, Matcher, MatchExplanation, RuleMatcher, StringMatcher, TracedMatcher, TraceStep } from './types';
export { compileHeaderNameMatchers, HeaderNameFilter } from './header-name-matchers';

export { compileMatch } from './compile-match';
export type { CheckInput, Matcher, MatchExplanation, RuleMatcher } from './types';

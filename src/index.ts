export * from './client';
export * from './server';
export * from './translate';
export * from './config';
export { compileMatch, explainRules, type CheckInput, type RuleMatcher } from './matcher';

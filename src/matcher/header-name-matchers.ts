import type { HeaderNameMatcherSource, Issues } from '../config';
import { compileStringMatcher } from './string-matcher';
import type { StringMatcher } from './types';

/**
 * The StringMatcher items of `request.allowedHeaders`, compiled once with the matcher's own string
 * matchers (RE2 for `safe_regex`); each is tried against the request's lowercase header names.
 * A bad item is reported with its key path.
 */
export function compileHeaderNameMatchers(sources: readonly HeaderNameMatcherSource[], issues: Issues): StringMatcher[] {
  return sources.map((s) => compileStringMatcher(s.matcher, s.path, issues));
}

import type { HeaderNameMatcherSource, Issues } from '../config';
import { compileStringMatcher } from './string-matcher';
import type { StringMatcher } from './types';

/** Bound on the names a filter remembers; past it, names are matched each time (clients choose names). */
const MAX_REMEMBERED = 1024;

/**
 * The StringMatcher items of `request.allowedHeaders`, compiled once with the matcher's own string
 * matchers (RE2 for `safe_regex`) and tried against the request's lowercase header names. The
 * same few names arrive on every request and an RE2 call costs far more than a Map lookup, so
 * each name's result is remembered, up to a bound.
 */
export class HeaderNameFilter {
  private readonly remembered = new Map<string, boolean>();

  constructor(private readonly matchers: readonly StringMatcher[]) {}

  get empty(): boolean {
    return this.matchers.length === 0;
  }

  matches(name: string): boolean {
    const known = this.remembered.get(name);
    if (known !== undefined) return known;
    let matched = false;
    for (const m of this.matchers) {
      if (m.match(name)) {
        matched = true;
        break;
      }
    }
    if (this.remembered.size < MAX_REMEMBERED) this.remembered.set(name, matched);
    return matched;
  }
}

/** Compiles the matcher items; a bad one is reported with its key path. */
export function compileHeaderNameMatchers(sources: readonly HeaderNameMatcherSource[], issues: Issues): HeaderNameFilter {
  return new HeaderNameFilter(sources.map((s) => compileStringMatcher(s.matcher, s.path, issues)));
}

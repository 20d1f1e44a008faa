import type { CheckInput, StringMatcher, TracedMatcher } from './types';

/**
 * A blacklist `path` condition: a list of paths that need authentication, so a near miss
 * counts as a match. The same path with one trailing "/" more or less is the same resource
 * to Express (non-strict routing) and Spring MVC (trailing-slash match), so `/admin/*` also
 * covers `/admin`, and `/api/private` also `/api/private/`. Case is folded unless the
 * condition sets `caseSensitive: true`; that is the StringMatcher's business.
 */
export class NearMissPathMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly test: StringMatcher,
    /**
     * The near miss, prepared at load for exact and prefix paths; "toggle" for a regex, which
     * is tried again on the path with one trailing "/" more or less; undefined when there is none.
     */
    private readonly nearMiss: StringMatcher | 'toggle' | undefined,
    /** The same test without case folding, so explain can say when folding decided; undefined when case-sensitive. */
    private readonly caseSensitive: StringMatcher | undefined,
  ) {}

  matches(input: CheckInput): boolean {
    const value = input.pathOnly;
    return this.test.match(value) || this.matchesNearMiss(value);
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.matches(input);
  }

  /** How this request matched, when it took more than the literal test; for explain only. */
  resolution(input: CheckInput): string | undefined {
    const value = input.pathOnly;
    if (this.test.match(value)) {
      if (this.caseSensitive && !this.caseSensitive.match(value)) {
        return `blacklist near miss at ${this.path}: ${JSON.stringify(value)} matched ignoring case (Express and IIS route case-insensitively)`;
      }
      return undefined;
    }
    if (!this.matchesNearMiss(value)) return undefined;
    return `blacklist near miss at ${this.path}: ${JSON.stringify(value)} counted as ${JSON.stringify(toggleSlash(value))} (Express and Spring MVC serve a path with or without one trailing "/" alike)`;
  }

  private matchesNearMiss(value: string): boolean {
    const nearMiss = this.nearMiss;
    if (nearMiss === undefined) return false;
    if (nearMiss === 'toggle') return this.test.match(toggleSlash(value));
    return nearMiss.match(value);
  }
}

/** The path with its one trailing "/" removed, or with one added; "/" stays "/". */
function toggleSlash(value: string): string {
  if (value === '/') return value;
  return value.endsWith('/') ? value.slice(0, -1) : `${value}/`;
}

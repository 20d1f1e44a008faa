import { distance } from 'fastest-levenshtein';

/**
 * The valid name closest to a misspelt one, by Levenshtein distance over lowercased names, or
 * undefined when none is close enough to be a likely typo: at most 2 edits, or a third of the
 * name's length for long names. `exactMatch` finds `exact_match`; `colour` finds nothing in
 * `[name, op]`.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean \`x\`?` when a candidate is close, else the empty string: for appending to an error. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const best = closestName(word, candidates);
  return best === undefined ? '' : `; did you mean \`${best}\`?`;
}

/**
 * What `derive` makes of `shared`, made once and kept with it. For frozen decisions and outcomes,
 * which answer many checks alike (ARCHITECTURE.md, "One Check, step by step"): a WeakMap, so the
 * derived value goes when the shared object does.
 */
export function derivedOnce<K extends object, V>(kept: WeakMap<K, V>, shared: K, derive: (shared: K) => V): V {
  let value = kept.get(shared);
  if (value === undefined) {
    value = derive(shared);
    kept.set(shared, value);
  }
  return value;
}

/**
 * How far V8 lets the old generation grow past what the last full collection found live, as a
 * percentage, when the user has not chosen it. V8's own factor rises to 4× on a host with a large
 * heap limit, which held the adapter at 190–230 MB under the benchmark's load while about 20 MB
 * was live; doubling keeps it well under 150 MB (docs/performance.md, "Memory").
 */
export const HEAP_GROWING_PERCENT = 100;

const GROWING_FLAG = /(?:^|\s)--heap[-_]growing[-_]percent(?:[=\s]|$)/;

/**
 * The V8 flags the bin sets at startup: the ones above unless the same setting is already given
 * on the command line (`execArgv`) or in `NODE_OPTIONS`, which win. This one is read at every
 * full collection, so `v8.setFlagsFromString` works after V8 has started; the heap's size
 * limits (`--max-old-space-size`) are fixed by then and stay with the command line.
 */
export function heapDefaults(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, nodeOptions ?? ''].join(' ');
  return GROWING_FLAG.test(given) ? [] : [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
}

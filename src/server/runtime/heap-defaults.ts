/**
 * How far V8 lets the old generation grow past what the last full collection found live, as a
 * percentage, when the user has not chosen it. V8's own factor rises to 4× on a host with a large
 * heap limit, which held the adapter at 190–230 MB under the benchmark's load while about 20 MB
 * was live; 100 still peaked at 157–166 MB over the benchmark's rows, 50 at about 140
 * (docs/performance.md, "Memory").
 */
export const HEAP_GROWING_PERCENT = 50;

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

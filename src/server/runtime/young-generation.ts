import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

const MIB = 1024 * 1024;

/**
 * The most one semi-space of V8's young generation may grow to, when the user has not chosen
 * (`--max-semi-space-size`). V8's own limit is 16 MiB per semi-space, two of them resident: under
 * the benchmark's load the young generation alone then holds 32 MiB, and the adapter's peak RSS
 * passed 150 MB on its bypass path. Half that measured the same CPU per check
 * (docs/performance.md, "Memory").
 */
export const SEMI_SPACE_CAP_BYTES = 8 * MIB;

const SEMI_SPACE_FLAGS = /(?:^|\s)--(?:max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(?:[=\s]|$)/;

/** Whether the bin should cap the young generation: not when the command line or `NODE_OPTIONS` sizes it already. */
export function capsYoungGeneration(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return !SEMI_SPACE_FLAGS.test([...execArgv, nodeOptions ?? ''].join(' '));
}

/**
 * The growth factor that lets a semi-space of `currentBytes` grow at most to `capBytes`: V8 grows
 * it to min(its limit, factor × current), so 1 holds it where it is.
 */
export function growthFactorFor(currentBytes: number, capBytes: number): number {
  if (currentBytes <= 0) return 1;
  return Math.max(1, Math.floor(capBytes / currentBytes));
}

function semiSpaceBytes(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  // What the semi-space being allocated in holds plus what is left in it: its capacity. Not half
  // of `space_size`, which is what is committed: V8 uncommits the other semi-space while idle,
  // and half of that would read as room to grow.
  return space ? space.space_used_size + space.space_available_size : 0;
}

/**
 * Holds the young generation's semi-spaces at `capBytes`. Its maximum is fixed when V8 starts,
 * so it cannot be lowered from the bin; V8 reads its growth factor each time it grows the young
 * generation, though, which happens only right after a scavenge. After every collection, the
 * factor is set so that the next growth stops at the cap, and back up when V8 has shrunk the
 * space while idle. A growth can only overshoot if two come between one collection and the
 * observer's turn on the event loop; it then stops at V8's own limit, where it was before.
 * Returns the stop.
 */
export function capYoungGeneration(
  capBytes: number,
  readSemiSpace: () => number = semiSpaceBytes,
  setFlag: (flag: string) => void = (flag) => v8.setFlagsFromString(flag),
): () => void {
  let factor = 1;
  const steer = (): void => {
    const next = growthFactorFor(readSemiSpace(), capBytes);
    if (next === factor) return;
    setFlag(`--semi-space-growth-factor=${next}`);
    factor = next;
  };
  // Held first: startup runs without a turn of the event loop, so the observer could not stop
  // a second growth there. The first collection after that lets it grow, by one step, to the cap.
  setFlag('--semi-space-growth-factor=1');
  const observer = new PerformanceObserver(steer);
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

import fc from 'fast-check';

/**
 * Run counts and seed for the property tests. `npm test` runs a 1/100 sample; `npm run test:fuzz`
 * (FUZZ=full) runs them all, over 100,000 cases in total. FUZZ_SEED replays a run; FUZZ_RUNS
 * overrides every count.
 */
export const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 0x7fffffff);
const FULL = process.env.FUZZ === 'full';

let announced = false;

export function fuzzParameters<T>(fullRuns: number): fc.Parameters<T> {
  const numRuns = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : FULL ? fullRuns : Math.max(50, Math.ceil(fullRuns / 100));
  if (!announced) {
    announced = true;
    process.stdout.write(`fast-check seed ${FUZZ_SEED} (replay with FUZZ_SEED=${FUZZ_SEED})\n`);
  }
  return { seed: FUZZ_SEED, numRuns, endOnFailure: true };
}

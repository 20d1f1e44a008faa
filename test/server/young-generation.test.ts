import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { builtCli } from '../helpers/cli-process';
import { capsYoungGeneration, capYoungGeneration, growthFactorFor, SEMI_SPACE_CAP_BYTES } from '../../src/server/runtime/young-generation';

const MIB = 1024 * 1024;

describe('growthFactorFor', () => {
  it('lets a semi-space grow in one step to the cap, never past it, and holds it there', () => {
    expect(growthFactorFor(1 * MIB, 8 * MIB)).toBe(8);
    expect(growthFactorFor(2 * MIB, 8 * MIB)).toBe(4);
    expect(growthFactorFor(3 * MIB, 8 * MIB)).toBe(2);
    expect(growthFactorFor(8 * MIB, 8 * MIB)).toBe(1);
    expect(growthFactorFor(16 * MIB, 8 * MIB)).toBe(1);
    expect(growthFactorFor(0, 8 * MIB)).toBe(1);
  });
});

describe('capsYoungGeneration', () => {
  it('caps unless the command line or NODE_OPTIONS sizes the young generation, in either spelling', () => {
    expect(capsYoungGeneration([], undefined)).toBe(true);
    expect(capsYoungGeneration(['--max-old-space-size=256'], '--heap-growing-percent=0')).toBe(true);
    expect(capsYoungGeneration(['--max-semi-space-size=16'], undefined)).toBe(false);
    expect(capsYoungGeneration([], '--max_semi_space_size=32')).toBe(false);
    expect(capsYoungGeneration([], '--semi-space-growth-factor=2')).toBe(false);
    expect(capsYoungGeneration(['--max-semi-space-size-x=1'], undefined)).toBe(true);
  });
});

describe('capYoungGeneration', () => {
  it('holds growth first, then steers the factor from what it reads after each collection, setting it only when it changes', async () => {
    const flags: string[] = [];
    let semi = 1 * MIB;
    const stop = capYoungGeneration(
      8 * MIB,
      () => semi,
      (f) => flags.push(f),
    );
    // Allocates until a real collection has happened and the observer has set a flag, or gives up.
    const untilSet = async (count: number): Promise<void> => {
      for (let i = 0; i < 200 && flags.length === count; i++) {
        const garbage = Array.from({ length: 50_000 }, (_, j) => ({ j }));
        void garbage;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    try {
      expect(flags).toEqual(['--semi-space-growth-factor=1']);
      await untilSet(1);
      expect(flags.slice(1)).toEqual(['--semi-space-growth-factor=8']);
      semi = 8 * MIB;
      await untilSet(2);
      expect(flags.slice(2)).toEqual(['--semi-space-growth-factor=1']);
    } finally {
      stop();
    }
  });

  // A real V8 in a child process: the young generation under a steady allocation load, served
  // from the event loop as the adapter's checks are.
  const script = (capped: boolean): string => `
    const v8 = require('node:v8');
    ${capped ? `const y = require(${JSON.stringify(path.join(path.dirname(builtCli()), '..', 'dist', 'server', 'runtime', 'young-generation.js'))}); y.capYoungGeneration(y.SEMI_SPACE_CAP_BYTES);` : ''}
    let keep = [];
    let made = 0;
    let largest = 0;
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    function batch() {
      for (let j = 0; j < 2000; j++) { keep.push({ made, text: 'x' + made }); made++; if (keep.length > 40000) keep = []; }
      largest = Math.max(largest, newSpace());
      if (made < 3000000) setImmediate(batch); else console.log(largest);
    }
    batch();`;

  it('keeps a real young generation at the cap under load; uncapped, the same load grows it past', () => {
    const largest = (capped: boolean): number =>
      Number(execFileSync(process.execPath, ['-e', script(capped)], { encoding: 'utf8', timeout: 60_000 }).trim());
    expect(largest(true)).toBeLessThanOrEqual(2 * SEMI_SPACE_CAP_BYTES);
    expect(largest(false)).toBeGreaterThan(2 * SEMI_SPACE_CAP_BYTES);
  }, 120_000);
});

import { HEAP_GROWING_PERCENT, heapDefaults } from '../../src/server/runtime/heap-defaults';

// The bin applies these with v8.setFlagsFromString; their effect on memory is measured by
// `npm run bench` (peak RSS through the bin), not here.
describe('heapDefaults', () => {
  const ours = [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];

  it('sizes the heap growth when the user said nothing', () => {
    expect(heapDefaults([], undefined)).toEqual(ours);
    expect(heapDefaults([], '')).toEqual(ours);
  });

  it('keeps its setting beside other heap flags, which bound a different thing', () => {
    expect(heapDefaults(['--max-old-space-size=256'], '--max-semi-space-size=8 --enable-source-maps')).toEqual(ours);
  });

  it('leaves the setting to NODE_OPTIONS or the command line when either gives it, in either spelling', () => {
    expect(heapDefaults([], '--heap-growing-percent=0')).toEqual([]);
    expect(heapDefaults([], '--max-old-space-size=512 --heap_growing_percent=30')).toEqual([]);
    expect(heapDefaults(['--heap-growing-percent=300'], undefined)).toEqual([]);
    expect(heapDefaults(['--heap-growing-percent', '50'], undefined)).toEqual([]);
  });

  it('is not fooled by a flag that only starts the same', () => {
    expect(heapDefaults(['--heap-growing-percentage=5'], '--no-heap-growing-percent-x')).toEqual(ours);
  });
});

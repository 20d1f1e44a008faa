// The Check client is the package's own (src/client), shared with the demo, the soak and the bench.
export * from '../../src/client';

#!/usr/bin/env node
'use strict';
// Before any code is compiled. Under load, V8 learns to allocate objects from hot call sites
// directly in the old generation (allocation-site pretenuring) and keeps doing so once the load
// drops; with the old-space limit the adapter ships with, that meant frequent full collections
// at a steady rate (measured in docs/performance.md, "Memory"). Node refuses this flag in
// NODE_OPTIONS.
require('node:v8').setFlagsFromString('--no-allocation-site-pretenuring');
// The package builds on install (`prepare`), so dist/ exists after `npm ci`.
/** @type {typeof import('../src/server')} The types of the source; the code of that build. */
const { main } = require(require('node:path').join(__dirname, '..', 'dist', 'server'));
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);

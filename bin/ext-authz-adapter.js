#!/usr/bin/env node
'use strict';
const path = require('node:path');
const v8 = require('node:v8');
// Before any code is compiled. Under load, V8 learns to allocate objects from hot call sites
// directly in the old generation (allocation-site pretenuring) and keeps doing so once the load
// drops; with the old-space limit the adapter ships with, that meant frequent full collections
// at a steady rate (measured in docs/performance.md, "Memory"). Node refuses this flag in
// NODE_OPTIONS.
v8.setFlagsFromString('--no-allocation-site-pretenuring');
// The heap settings the adapter needs, applied here so that `npx ext-authz-adapter serve` gets
// them too; the same flag in NODE_OPTIONS or on the command line wins.
/** @type {typeof import('../src/server/runtime/heap-defaults')} */
const { heapDefaults } = require(path.join(__dirname, '..', 'dist', 'server', 'runtime', 'heap-defaults.js'));
for (const flag of heapDefaults(process.execArgv, process.env.NODE_OPTIONS)) v8.setFlagsFromString(flag);
/** @type {typeof import('../src/server/runtime/young-generation')} */
const { capsYoungGeneration, capYoungGeneration, SEMI_SPACE_CAP_BYTES } = require(
  path.join(__dirname, '..', 'dist', 'server', 'runtime', 'young-generation.js'),
);
if (capsYoungGeneration(process.execArgv, process.env.NODE_OPTIONS)) capYoungGeneration(SEMI_SPACE_CAP_BYTES);
// The package builds on install (`prepare`), so dist/ exists after `npm ci`.
/** @type {typeof import('../src/server')} The types of the source; the code of that build. */
const { main } = require(path.join(__dirname, '..', 'dist', 'server'));
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);

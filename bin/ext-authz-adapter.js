#!/usr/bin/env node
'use strict';
const v8 = require('node:v8');
// Before any code is compiled. Under load, V8 learns to allocate objects from hot call sites
// directly in the old generation (allocation-site pretenuring) and keeps doing so once the load
// drops; with the 256 MB old-space limit the adapter ships with, that meant a full collection
// every ~0.7 s at 2,000 checks/s (README, "Memory"). Node refuses this flag in NODE_OPTIONS.
v8.setFlagsFromString('--no-allocation-site-pretenuring');
// The heap settings the adapter needs, applied here so that `npx ext-authz-adapter serve` gets
// them too; the same flag in NODE_OPTIONS or on the command line wins.
for (const flag of require('../dist/server/heap-defaults.js').heapDefaults(process.execArgv, process.env.NODE_OPTIONS)) {
  v8.setFlagsFromString(flag);
}
// The package builds on install (`prepare`), so dist/ exists after `npm ci`.
require('../dist/server/cli.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);

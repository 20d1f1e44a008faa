#!/usr/bin/env node
'use strict';
// The package builds on install (`prepare`), so dist/ exists after `npm ci`.
require('../dist/server/cli.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);

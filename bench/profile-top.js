'use strict';
/**
 * Top self-time functions of a V8 CPU profile (`--cpu-prof`), as a Markdown table: for reading
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" npm run bench -- --rows auth` without a
 * browser. Usage: node bench/profile-top.js FILE.cpuprofile [N (25)] [--by-file]
 * Paths are cut to what follows node_modules/ or the repository root.
 */
const fs = require('node:fs');
const path = require('node:path');

const [file, count = '25', mode] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-top.js FILE.cpuprofile [N] [--by-file]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const ROOT = path.join(__dirname, '..') + path.sep;
const short = (/** @type {string} */ url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, '')
    .replace(ROOT, '');

// Each sample names the node that was on top of the stack; the time deltas give its duration.
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const totals = new Map();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)') continue;
  total += us;
  const where = url ? `${short(url)}${mode === '--by-file' ? '' : `:${lineNumber + 1}`}` : '';
  const key = mode === '--by-file' ? where || functionName : `${functionName || '(anonymous)'} ${where}`.trim();
  totals.set(key, (totals.get(key) ?? 0) + us);
}
const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
console.log(`${(total / 1e6).toFixed(2)} s of samples (idle left out)\n`);
console.log(`| self % | self ms | ${mode === '--by-file' ? 'file' : 'function'} |`);
console.log('| ---: | ---: | --- |');
for (const [key, us] of rows)
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${(us / 1000).toFixed(0)} | ${key.replace(/\|/g, '\\|')} |`);

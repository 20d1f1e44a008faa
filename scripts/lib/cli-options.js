'use strict';
const { parseArgs } = require('node:util');

/**
 * The `--name value` options of a tool (demo, soak, bench), each with its default. `--help` prints
 * the usage and exits 0; an unknown option or a missing value prints what was wrong and the usage,
 * and exits 2, without a stack trace.
 * @template {string} K
 * @param {string} usage
 * @param {Record<K, string | undefined>} defaults undefined: no default
 * @returns {Record<K, string | undefined>}
 */
function cliOptions(usage, defaults) {
  /** @type {Record<string, { type: 'string', default?: string }>} */
  const options = {};
  for (const [name, value] of Object.entries(defaults)) {
    options[name] = value === undefined ? { type: 'string' } : { type: 'string', default: /** @type {string} */ (value) };
  }
  let parsed;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean' } } }).values;
  } catch (err) {
    console.error(`${/** @type {Error} */ (err).message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(usage);
    process.exit(0);
  }
  return /** @type {Record<K, string | undefined>} */ (parsed);
}

module.exports = { cliOptions };

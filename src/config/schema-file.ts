import path from 'node:path';

/**
 * The JSON Schema of the config file (draft 2020-12), for editors and `ext-authz-adapter schema`.
 * It lives outside src so that editors can point at it from a YAML file; from src/config and
 * dist/config alike it is two levels up. Kept in step with the parser by
 * test/config/config-schema.test.ts.
 */
export const CONFIG_SCHEMA_FILE = path.resolve(__dirname, '..', '..', 'config', 'config.schema.json');

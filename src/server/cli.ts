import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CONFIG_SCHEMA_FILE, ConfigError } from '../config';
import { explainRules, explanationsToJson, formatExplanations } from '../matcher';
import { readCheckRequest } from '../translate';
import { loadConfigFile } from './load-config';
import { serveConfigFile } from './serve';

const USAGE = `Usage:
  ext-authz-adapter serve --config FILE      run the adapter
  ext-authz-adapter validate --config FILE   check a config file; exit 1 listing every error, warnings on stderr
  ext-authz-adapter explain --config FILE --method GET --host example.com --path /api/x?q=1
                    [--header name=value ...] [--json]
                                             say, per rule, whether a request needs authentication and why
                                             (--host defaults to localhost: an empty host is always authenticated)
  ext-authz-adapter schema                   print the JSON Schema of the config file (draft 2020-12), for editors
`;

/** Entry point of the `ext-authz-adapter` bin; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'validate':
      return validate(rest);
    case 'explain':
      return explain(rest);
    case 'schema':
      return schema(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 1;
  }
}

function configArg(args: readonly string[]): string | undefined {
  const { values } = parseArgs({ args: [...args], options: { config: { type: 'string', short: 'c' } }, strict: true });
  if (!values.config) process.stderr.write(`missing --config FILE\n${USAGE}`);
  return values.config;
}

async function validate(args: readonly string[]): Promise<number> {
  const file = configArg(args);
  if (!file) return 1;
  try {
    const config = await loadConfigFile(file);
    await Promise.all(config.rules.map((r) => r.client.destroy()));
    for (const w of config.warnings) process.stderr.write(`${file}: warning: ${w.path ? `${w.path}: ` : ''}${w.message}\n`);
    process.stdout.write(`${file}: ok (${config.rules.length} rule${config.rules.length === 1 ? '' : 's'})\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 1;
  }
}

async function explain(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string', short: 'c' },
        method: { type: 'string', default: 'GET' },
        host: { type: 'string', default: 'localhost' },
        path: { type: 'string', default: '/' },
        header: { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 1;
  }
  if (!values.config) {
    process.stderr.write(`missing --config FILE\n${USAGE}`);
    return 1;
  }
  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const eq = h.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`--header ${JSON.stringify(h)}: expected name=value\n`);
      return 1;
    }
    headers[h.slice(0, eq).toLowerCase()] = h.slice(eq + 1);
  }
  let config;
  try {
    config = await loadConfigFile(values.config);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 1;
  }
  await Promise.all(config.rules.map((r) => r.client.destroy()));
  // The same reading of a request as the Check path, so explain normalizes paths exactly as serving does.
  const view = readCheckRequest({
    attributes: { request: { http: { method: values.method, host: values.host, path: values.path, headers } } },
  });
  if ('invalid' in view) {
    process.stderr.write(`${view.invalid}\n`);
    return 1;
  }
  const rules = config.rules.map((r) => ({ name: r.settings.name, enabled: r.settings.enabled, matcher: r.matcher }));
  const list = explainRules(rules, view.input);
  process.stdout.write(values.json ? explanationsToJson(list, view.input) : formatExplanations(list, view.input));
  return 0;
}

async function schema(args: readonly string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write(`schema takes no arguments, got ${args.join(' ')}\n${USAGE}`);
    return 1;
  }
  process.stdout.write(await readFile(CONFIG_SCHEMA_FILE, 'utf8'));
  return 0;
}

async function serve(args: readonly string[]): Promise<number> {
  const file = configArg(args);
  if (!file) return 1;
  // The servers keep the process alive; SIGTERM/SIGINT drain and exit.
  return serveConfigFile(file);
}

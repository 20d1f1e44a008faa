import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CONFIG_SCHEMA_FILE, ConfigError } from '../../config';
import { explainRules, explanationsToJson, formatExplanations } from '../../matcher';
import { readCheckRequest } from '../../translate';
import { compileConfigFile, explainHeaders, formatHeaderPlan, vouchedHeaders, type CompiledConfig } from '../check';
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

/** Exit code of a command line that cannot be run as written, as getopt-style tools use it. */
const USAGE_ERROR = 2;

/** A command line that cannot be run as written; answered with the usage and exit 2. */
class UsageError extends Error {}

/** Entry point of the `ext-authz-adapter` bin; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'validate':
        return await validate(rest);
      case 'explain':
        return await explain(rest);
      case 'schema':
        return await schema(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}`);
    return USAGE_ERROR;
  }
}

const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;

/** node:util parseArgs, with its errors (unknown option, missing value) as UsageErrors. */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function requireConfig(file: string | undefined): string {
  if (!file) throw new UsageError('missing --config FILE');
  return file;
}

/** The compiled config, or undefined once its problems are printed. */
async function compileOrReport(file: string): Promise<CompiledConfig | undefined> {
  try {
    return await compileConfigFile(file);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    return undefined;
  }
}

async function validate(args: readonly string[]): Promise<number> {
  const file = requireConfig(parse(args, CONFIG_OPTION).config);
  const config = await compileOrReport(file);
  if (!config) return 1;
  for (const w of config.warnings) process.stderr.write(`${file}: warning: ${w.path ? `${w.path}: ` : ''}${w.message}\n`);
  process.stdout.write(`${file}: ok (${config.rules.length} rule${config.rules.length === 1 ? '' : 's'})\n`);
  return 0;
}

async function explain(args: readonly string[]): Promise<number> {
  const values = parse(args, {
    ...CONFIG_OPTION,
    method: { type: 'string', default: 'GET' },
    host: { type: 'string', default: 'localhost' },
    path: { type: 'string', default: '/' },
    header: { type: 'string', multiple: true, default: [] },
    json: { type: 'boolean', default: false },
  });
  const file = requireConfig(values.config);
  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const eq = h.indexOf('=');
    if (eq <= 0) {
      process.stderr.write(`--header ${JSON.stringify(h)}: expected name=value\n`);
      return 1;
    }
    headers[h.slice(0, eq).toLowerCase()] = h.slice(eq + 1);
  }
  const config = await compileOrReport(file);
  if (!config) return 1;
  // The same reading of a request as the Check path, so explain normalizes paths exactly as serving does.
  const view = readCheckRequest({
    attributes: { request: { http: { method: values.method, host: values.host, path: values.path, headers } } },
  });
  if ('invalid' in view) {
    process.stderr.write(`${view.invalid}\n`);
    return 1;
  }
  const rules = config.rules.map((r) => ({ name: r.settings.name, enabled: r.settings.enabled, matcher: r.matcher }));
  const vouched = vouchedHeaders(config.settings.rules);
  const plans = config.rules.map((r) => explainHeaders(r, view, vouched));
  const list = explainRules(rules, view.input);
  if (values.json) {
    process.stdout.write(
      explanationsToJson(
        list.map((e, i) => ({ ...e, headers: plans[i] })),
        view.input,
      ),
    );
    return 0;
  }
  const plansText = config.rules.flatMap((r, i) => [`rule ${JSON.stringify(r.settings.name)} headers:`, ...formatHeaderPlan(plans[i])]);
  process.stdout.write(`${formatExplanations(list, view.input)}${plansText.join('\n')}\n`);
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
  const file = requireConfig(parse(args, CONFIG_OPTION).config);
  // The servers keep the process alive; SIGTERM/SIGINT drain and exit.
  return serveConfigFile(file);
}

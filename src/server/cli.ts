import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import { AdapterServer } from './adapter-server';
import { loadConfigFile } from './load-config';

const USAGE = `Usage:
  ext-authz-adapter serve --config FILE      run the adapter
  ext-authz-adapter validate --config FILE   check a config file; exit 1 listing every error
`;

/** Entry point of the `ext-authz-adapter` bin; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'validate':
      return validate(rest);
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
    process.stdout.write(`${file}: ok (${config.rules.length} rule${config.rules.length === 1 ? '' : 's'})\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 1;
  }
}

async function serve(args: readonly string[]): Promise<number> {
  const file = configArg(args);
  if (!file) return 1;
  try {
    await AdapterServer.start({ configFile: file, watch: true, handleSignals: true });
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\nrefusing to start\n`);
    return 1;
  }
  // The servers keep the process alive; SIGTERM/SIGINT drain and exit.
  return new Promise<number>(() => undefined);
}

import { readFile } from 'node:fs/promises';
import {
  ConfigError,
  Issues,
  keyPath,
  parseConfigText,
  readGrpcTls,
  readServiceTls,
  type AdapterSettings,
  type ConfigIssue,
  type GrpcTlsMaterial,
  type RuleSettings,
  type ServiceTlsMaterial,
} from '../../config';
import { compileHeaderNameMatchers, compileMatch, type HeaderNameFilter, type RuleMatcher } from '../../matcher';

/** A rule as compiled: settings, conditions ready to match, and its service's TLS material. */
export interface CompiledRule {
  readonly settings: RuleSettings;
  readonly matcher: RuleMatcher;
  /** The StringMatchers of `request.allowedHeaders`, tried on each request header's name. */
  readonly headerMatchers: HeaderNameFilter;
  readonly tls?: ServiceTlsMaterial;
}

/**
 * A whole config, validated and compiled, holding no socket and no pool: what `serve`,
 * `validate`, `explain` and the cluster primary all accept or refuse alike.
 */
export interface CompiledConfig {
  readonly settings: AdapterSettings;
  readonly rules: readonly CompiledRule[];
  readonly grpcTls?: GrpcTlsMaterial;
  /** Problems that do not stop the config from serving; `validate` lists them. */
  readonly warnings: readonly ConfigIssue[];
}

/** Reads the config file; an unreadable file is a ConfigError like any other. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
}

/** Reads and compiles a config file. */
export async function compileConfigFile(file: string, now?: Date): Promise<CompiledConfig> {
  return compileConfig(await readConfigText(file), file, now);
}

/**
 * The one config compiler: parses the settings, compiles every rule's conditions, and reads and
 * checks the TLS files as TLS material valid at `now`. Throws ConfigError listing every problem
 * found in one pass.
 */
export async function compileConfig(text: string, source: string, now = new Date()): Promise<CompiledConfig> {
  const issues = new Issues();
  const settings = parseConfigText(text, issues);
  if (!settings) throw new ConfigError(source, issues.list);
  // Conditions and TLS files are checked even when the settings had problems, so one run lists them all.
  const matchers = settings.rules.map((rule) => compileMatch(rule.match, issues));
  const headerMatchers = settings.rules.map((rule) => compileHeaderNameMatchers(rule.request.allowedHeaderMatchers, issues));
  const tls = await Promise.all(settings.rules.map((rule, i) => readServiceTls(rule, keyPath('rules', i), issues, now)));
  const grpcTls = await readGrpcTls(settings, issues, now);
  if (!issues.empty) throw new ConfigError(source, issues.list);
  return {
    settings,
    rules: settings.rules.map((rule, i) => ({ settings: rule, matcher: matchers[i], headerMatchers: headerMatchers[i], tls: tls[i] })),
    grpcTls,
    warnings: issues.warnings,
  };
}

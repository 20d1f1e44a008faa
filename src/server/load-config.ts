import { readFile } from 'node:fs/promises';
import { ConfigError, Issues, keyPath, parseConfigText, type AdapterSettings, type ConfigIssue, type RuleSettings } from '../config';
import { compileMatch, type RuleMatcher } from '../matcher';
import { AuthClient, type ServiceTlsMaterial } from './auth-client';
import type { Exchange } from './auth-exchange';
import { Coalescer } from './coalescer';
import { ConcurrencyLimit } from './concurrency-limit';
import { DecisionCache } from './decision-cache';
import { vouchedHeaders } from './vouched-headers';

export interface GrpcTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer;
}

/** A rule ready to serve: settings, compiled conditions and the pool toward its auth service. */
export interface CompiledRule {
  readonly settings: RuleSettings;
  readonly matcher: RuleMatcher;
  readonly client: AuthClient;
  /** This rule's own bound on auth calls in flight (`service.maxConcurrent`). */
  readonly limit: ConcurrencyLimit;
  /** `cache`: answers reused within their freshness; built anew with each config. */
  readonly cache?: DecisionCache;
  /** `coalesce: true`: identical concurrent checks share one auth call. */
  readonly coalescer?: Coalescer<Exchange>;
}

/** A whole config, validated and compiled once; swapped in atomically on reload. */
export interface LoadedConfig {
  readonly source: string;
  readonly settings: AdapterSettings;
  readonly rules: readonly CompiledRule[];
  readonly enabledRules: readonly CompiledRule[];
  readonly byName: ReadonlyMap<string, CompiledRule>;
  /** Removed from every allowed request unless an auth service set it (vouched-headers.ts). */
  readonly vouchedHeaders: readonly string[];
  readonly grpcTls?: GrpcTlsMaterial;
  /** Problems that do not stop the config from serving; `validate` lists them. */
  readonly warnings: readonly ConfigIssue[];
}

/** Reads, parses and compiles a config file; throws ConfigError listing every problem. */
export async function loadConfigFile(file: string, previous?: LoadedConfig): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  return compileConfig(text, file, previous);
}

/**
 * Compiles config text. Pools of rules whose service (url, pool size, TLS material) did not
 * change are taken over from `previous`, so a reload keeps warm connections.
 */
export async function compileConfig(text: string, source: string, previous?: LoadedConfig): Promise<LoadedConfig> {
  const issues = new Issues();
  const settings = parseConfigText(text, issues);
  if (!settings) throw new ConfigError(source, issues.list);
  // Conditions are compiled even when the settings had problems, so one run lists them all.

  const matchers = settings.rules.map((rule) => compileMatch(rule.match, issues));
  const tls = await Promise.all(settings.rules.map((rule, i) => readServiceTls(rule, keyPath('rules', i), issues)));
  const grpcTls = await readGrpcTls(settings, issues);
  if (!issues.empty) throw new ConfigError(source, issues.list);

  const reusable = new Map<string, AuthClient>();
  for (const rule of previous?.rules ?? []) reusable.set(rule.client.identity, rule.client);
  // A rule keeps its count of calls in flight across a reload, so calls still running under the
  // old config count against the new one's bound too.
  const limits = new Map<string, ConcurrencyLimit>();
  for (const rule of previous?.rules ?? []) limits.set(rule.settings.name, rule.limit);
  const rules = settings.rules.map((rule, i): CompiledRule => {
    const kept = limits.get(rule.name);
    const limit = kept && kept.max === rule.service.maxConcurrent ? kept : new ConcurrencyLimit(rule.service.maxConcurrent);
    const identity = clientIdentity(rule, tls[i]);
    let client = reusable.get(identity);
    if (!client) {
      client = new AuthClient(identity, rule.service, tls[i]);
      reusable.set(identity, client);
    }
    return {
      settings: rule,
      matcher: matchers[i],
      client,
      limit,
      cache: rule.cache && new DecisionCache(rule.cache),
      coalescer: rule.coalesce ? new Coalescer<Exchange>(rule.service.maxConcurrent) : undefined,
    };
  });
  return {
    source,
    settings,
    rules,
    enabledRules: rules.filter((r) => r.settings.enabled),
    byName: new Map(rules.map((r) => [r.settings.name, r])),
    vouchedHeaders: vouchedHeaders(settings.rules),
    grpcTls,
    warnings: issues.warnings,
  };
}

/** Pools of `previous` that `next` no longer uses; the caller closes them once in-flight calls are done. */
export function retiredClients(previous: LoadedConfig, next: LoadedConfig): AuthClient[] {
  const kept = new Set(next.rules.map((r) => r.client));
  return [...new Set(previous.rules.map((r) => r.client))].filter((c) => !kept.has(c));
}

function clientIdentity(rule: RuleSettings, tls: ServiceTlsMaterial | undefined): string {
  const s = rule.service;
  const material = tls
    ? [tls.ca, tls.cert, tls.key].map((b) => (b ? b.toString('base64') : '')).join('|') + `|${tls.serverName ?? ''}`
    : '';
  return `${s.url}|${s.connections}|${s.timeoutMs}|${material}`;
}

async function readPem(file: string | undefined, path: string, issues: Issues): Promise<Buffer | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    issues.add(path, `cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
}

async function readServiceTls(rule: RuleSettings, path: string, issues: Issues): Promise<ServiceTlsMaterial | undefined> {
  const tls = rule.service.tls;
  if (!tls) return undefined;
  const p = keyPath(keyPath(path, 'service'), 'tls');
  const [ca, cert, key] = await Promise.all([
    readPem(tls.ca, keyPath(p, 'ca'), issues),
    readPem(tls.cert, keyPath(p, 'cert'), issues),
    readPem(tls.key, keyPath(p, 'key'), issues),
  ]);
  return { ca, cert, key, serverName: tls.serverName };
}

async function readGrpcTls(settings: AdapterSettings, issues: Issues): Promise<GrpcTlsMaterial | undefined> {
  const tls = settings.grpc.tls;
  if (!tls) return undefined;
  const [cert, key, clientCa] = await Promise.all([
    readPem(tls.cert, 'grpc.tls.cert', issues),
    readPem(tls.key, 'grpc.tls.key', issues),
    readPem(tls.clientCa, 'grpc.tls.clientCa', issues),
  ]);
  return cert && key ? { cert, key, clientCa } : undefined;
}

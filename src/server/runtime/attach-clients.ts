import type { RuleSettings, ServiceTlsMaterial } from '../../config';
import { AuthClient, Coalescer, ConcurrencyLimit, DecisionCache, type Exchange } from '../auth-client';
import { type CompiledConfig, servingConfig, type ServingConfig } from '../check';

/** A compiled config with its pools attached: what a serving process swaps in on reload. */
export interface LoadedConfig extends ServingConfig {
  readonly compiled: CompiledConfig;
  /** Every pool the rules use, once each. */
  readonly pools: readonly AuthClient[];
}

/**
 * Gives each rule a pool toward its auth service, and a decision cache and coalescer when asked.
 * Pools of `previous` whose service (url, pool size, timeout, TLS material) did not change are
 * taken over, so a reload keeps warm connections. `clock` is the decision caches' monotonic
 * clock in ms (tests pass their own).
 */
export function attachClients(compiled: CompiledConfig, previous?: LoadedConfig, clock?: () => number): LoadedConfig {
  const pools = new Map<string, AuthClient>();
  for (const pool of previous?.pools ?? []) pools.set(pool.identity, pool);
  // A rule keeps its count of calls in flight across a reload, so calls still running under the
  // old config count against the new one's bound too.
  const limits = new Map<string, ConcurrencyLimit>();
  for (const rule of previous?.rules ?? []) limits.set(rule.settings.name, rule.limit);
  const used = new Set<AuthClient>();
  const rules = compiled.rules.map(({ settings, matcher, tls }) => {
    const kept = limits.get(settings.name);
    const limit = kept && kept.max === settings.service.maxConcurrent ? kept : new ConcurrencyLimit(settings.service.maxConcurrent);
    const identity = clientIdentity(settings, tls);
    let client = pools.get(identity);
    if (!client) {
      client = new AuthClient(identity, settings.service, tls);
      pools.set(identity, client);
    }
    used.add(client);
    return {
      settings,
      matcher,
      client,
      limit,
      cache: settings.cache && new DecisionCache(settings.cache, clock),
      coalescer: settings.coalesce ? new Coalescer<Exchange>(settings.service.maxConcurrent) : undefined,
    };
  });
  return { ...servingConfig(compiled.settings, rules), compiled, pools: [...used] };
}

/** Pools of `previous` that `next` no longer uses; the caller closes them once in-flight calls are done. */
export function retiredClients(previous: LoadedConfig, next: LoadedConfig): AuthClient[] {
  const kept = new Set(next.pools);
  return previous.pools.filter((c) => !kept.has(c));
}

function clientIdentity(rule: RuleSettings, tls: ServiceTlsMaterial | undefined): string {
  const s = rule.service;
  const material = tls
    ? [tls.ca, tls.cert, tls.key].map((b) => (b ? b.toString('base64') : '')).join('|') + `|${tls.serverName ?? ''}`
    : '';
  return `${s.url}|${s.connections}|${s.timeoutMs}|${material}`;
}

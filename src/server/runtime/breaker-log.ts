import type { BreakerState } from '../auth-client';
import type { Logger } from '../observability';
import type { LoadedConfig } from './attach-clients';

const MESSAGES: Readonly<Record<BreakerState, string>> = {
  open: 'circuit breaker open: the auth service is not answering; checks are answered as unavailable (circuit_open) without asking it',
  half_open: 'circuit breaker half-open: one probe call goes to the auth service',
  closed: 'circuit breaker closed: the auth service answers again',
};

/**
 * Logs each circuit breaker transition of the config's pools once, naming the rules that use
 * the pool. Called on every config load: pools (and their breakers) outlive the config.
 */
export function logBreakerTransitions(config: LoadedConfig, logger: Logger): void {
  for (const client of config.pools) {
    const rules = config.rules.filter((rule) => rule.client === client).map((rule) => rule.settings.name);
    const { breaker } = client;
    if (!breaker) continue;
    const fields = { rules, service: client.origin, failures: breaker.settings.failures, openForMs: breaker.settings.openForMs };
    breaker.onTransition((from, to) => {
      const line = { ...fields, from, to };
      if (to === 'open') logger.warn(line, MESSAGES[to]);
      else logger.info(line, MESSAGES[to]);
    });
  }
}

/**
 * Getting an answer from the auth service: the pool and one bounded call (auth-client,
 * call-handler, classify-error) on watched connections (response-watch: interim 1xx heads, a
 * close before any response byte), the pool's circuit breaker (circuit-breaker), the call
 * interpreted (auth-exchange), each rule's bound on calls
 * in flight, and the two ways to avoid a call (decision-cache, coalescer) with the policy on
 * what may be shared (sharing-policy). Imports nothing from check, runtime or observability.
 */
export { AuthClient, type AuthCaller, type AuthCallResult, type CallLimits } from './auth-client';
export { exchange, type AuthCallObserver, type AuthCallRecord, type Exchange, type ObservedAuthCall } from './auth-exchange';
export { Cancellation, unlessCancelled } from './cancellation';
export { CircuitBreaker, type Admission, type BreakerOutcome, type BreakerState } from './circuit-breaker';
export { Coalescer } from './coalescer';
export { ConcurrencyLimit } from './concurrency-limit';
export { DecisionCache, decisionKey, freshnessMs, type CacheableOutcome, type CacheLimits } from './decision-cache';
export { carriesToken, isPersonal, isPrivate, mayStore } from './sharing-policy';

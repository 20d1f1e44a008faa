import { DEFAULTS } from '../config';
import {
  buildAuthRequest,
  readCheckRequest,
  resolveOutcome,
  type CheckRequestMessage,
  type CheckView,
  type Decision,
  type HeaderList,
  type InvalidCheckRequest,
  type Reason,
} from '../translate';
import { exchange, type AuthCallRecord, type Exchange } from './auth-exchange';
import type { Cancellation } from './cancellation';
import { decisionKey } from './decision-cache';
import type { CompiledRule, LoadedConfig } from './load-config';
import { selectRules } from './select-rules';
import { carriesToken, mayStore } from './sharing-policy';
import type { CallMetadata, CheckSpan, CheckTracer } from './tracing';

export type { AuthCallRecord };

export interface CheckResult {
  readonly decision: Decision;
  readonly requestId: string;
  readonly calls: readonly AuthCallRecord[];
}

const EMPTY = Buffer.alloc(0);
/** Status for a CheckRequest the adapter cannot evaluate: Envoy sent something malformed. */
const INVALID_ATTRIBUTES_STATUS = 403;
/** Status for a client request that cannot be forwarded faithfully (bad method, control characters). */
const INVALID_REQUEST_STATUS = 400;
/** Status for a client request whose forwarded head is over `request.maxHeaderBytes`. */
const TOO_LARGE_STATUS = 431;
/** Status for a tunnel request (CONNECT): the auth service's HTTP client would open a tunnel, not ask. */
const METHOD_NOT_ALLOWED_STATUS = 405;
/** Status and advice for a check refused at the rule's `service.maxConcurrent`. */
const OVERLOADED_STATUS = 503;
const OVERLOADED_HEADERS: HeaderList = [['retry-after', '1']];

function deny(reason: Reason, rule: string, status: number, headers: HeaderList = []): Decision {
  return { kind: 'deny', reason, rule, status, headers, body: EMPTY };
}

/**
 * The Check pipeline: read the request, select rules, and for each rule that says the request
 * needs authentication, build the auth request, call, interpret and apply the mode. The first
 * denial ends it; the headers of every allowing rule are merged.
 */
export function runCheck(
  config: LoadedConfig,
  msg: CheckRequestMessage,
  cancel: Cancellation,
  tracer: CheckTracer | undefined,
  metadata: CallMetadata,
): Promise<CheckResult> {
  const view = readCheckRequest(msg);
  // Not async itself, so with tracing off the pipeline's own promise is the one returned.
  if (tracer === undefined) return decide(config, view, cancel, undefined);
  return traced(tracer, metadata, config, view, cancel);
}

/** `decide` inside the check's span. */
async function traced(
  tracer: CheckTracer,
  metadata: CallMetadata,
  config: LoadedConfig,
  view: CheckView | InvalidCheckRequest,
  cancel: Cancellation,
): Promise<CheckResult> {
  const span = tracer.startCheck('invalid' in view ? undefined : view.input.headers, metadata);
  let result: CheckResult;
  try {
    result = await decide(config, view, cancel, span);
  } catch (err) {
    span.fail(err);
    throw err;
  }
  span.end(result.decision, result.calls);
  return result;
}

async function decide(
  config: LoadedConfig,
  view: CheckView | InvalidCheckRequest,
  cancel: Cancellation,
  span: CheckSpan | undefined,
): Promise<CheckResult> {
  if ('invalid' in view) {
    return { decision: deny('invalid_request', '', INVALID_ATTRIBUTES_STATUS), requestId: '', calls: [] };
  }
  const requestId = view.requestId;
  const rules = selectRules(config, view.ruleName);
  if (!rules) {
    return { decision: deny('unknown_rule', view.ruleName ?? '', DEFAULTS.statusOnError), requestId, calls: [] };
  }

  const set = new Map<string, string>();
  // Every header an auth service of this config could vouch for starts out removed, so a
  // client's copy never reaches the backend unless an auth service set it on this very request.
  const remove = new Set<string>(config.vouchedHeaders);

  const calls: AuthCallRecord[] = [];
  let reason: Reason = 'bypass';
  let lastRule = '';
  for (const rule of rules) {
    if (!rule.matcher.needsAuth(view.input)) continue;
    const decision = await authenticate(rule, view, cancel, calls, span);
    if (decision.kind === 'deny') return { decision, requestId, calls };
    for (const [name, value] of decision.headersToSet) {
      set.set(name, value);
      remove.delete(name);
    }
    if (reason !== 'unavailable_loose') reason = decision.reason;
    lastRule = rule.settings.name;
  }
  return {
    decision: { kind: 'allow', reason, rule: lastRule, headersToSet: [...set], headersToRemove: [...remove] },
    requestId,
    calls,
  };
}

async function authenticate(
  rule: CompiledRule,
  view: CheckView,
  cancel: Cancellation,
  calls: AuthCallRecord[],
  span: CheckSpan | undefined,
): Promise<Decision> {
  const { settings } = rule;
  // undici would open a tunnel for CONNECT and wait for it until the timeout: never an answer.
  if (view.input.method.toUpperCase() === 'CONNECT') {
    return deny('invalid_request', settings.name, METHOD_NOT_ALLOWED_STATUS);
  }
  const built = buildAuthRequest(settings, view);
  if (!built.ok) {
    if ('invalid' in built) return deny('invalid_request', settings.name, INVALID_REQUEST_STATUS);
    // Counted with the bound's kind, but denied in every mode: only the client can cause it.
    calls.push({ rule: settings.name, unavailable: 'request_too_large', elapsedMs: 0 });
    return deny('request_too_large', settings.name, TOO_LARGE_STATUS);
  }
  const { cache } = rule;
  const tokened = carriesToken(settings.request, built.request);
  // Without a token the key does not stand for one user's credentials: each request asks alone.
  const coalescer = tokened ? rule.coalescer : undefined;
  const key = cache || coalescer ? decisionKey(built.request) : '';
  const cached = cache?.get(key);
  if (cached) {
    calls.push({ rule: settings.name, elapsedMs: 0, shared: 'cache' });
    return resolveOutcome(settings, cached);
  }
  const call = (signal: Cancellation | undefined): Promise<Exchange> =>
    exchange(settings, rule.client, rule.limit, built.request, signal, span);
  // A shared call must outlive any one caller, so it does not take a caller's cancellation.
  let joined = coalescer !== undefined;
  let result = coalescer
    ? await coalescer.run(key, () => {
        joined = false;
        return call(undefined);
      })
    : await call(cancel);
  // A cookie set for the caller that started the call is not handed to the ones that joined it.
  if (joined && result.personal) {
    joined = false;
    result = await call(cancel);
  }
  // A cancelled call has no listener left; fail closed regardless of mode.
  if (result.outcome === 'cancelled') return deny('unavailable_strict', settings.name, settings.service.statusOnError);
  // The HTTP client refused what buildAuthRequest let through: the request, not the service, is at fault.
  if (result.outcome === 'invalid_request') return deny('invalid_request', settings.name, INVALID_REQUEST_STATUS);
  if (result.record) calls.push(joined ? { ...result.record, shared: 'coalesced' } : result.record);
  // The adapter's own bound: denied in every mode, or a flood of bad tokens would open loose mode.
  if (result.outcome === 'overloaded') return deny('overloaded', settings.name, OVERLOADED_STATUS, OVERLOADED_HEADERS);
  if (cache && mayStore(result.personal === true, result.cacheControl, tokened)) cache.set(key, result.outcome, result.cacheControl);
  return resolveOutcome(settings, result.outcome);
}

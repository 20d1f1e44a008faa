import * as grpc from '@grpc/grpc-js';
import { toCheckResponse, type CheckRequestMessage, type CheckResponseMessage, type Decision } from '../../translate';
import { deny, OVERLOADED_HEADERS, OVERLOADED_STATUS } from './denials';
import { Cancellation } from '../auth-client';
import { decisionLineWriter, type CheckTracer, type DecisionFields, type Logger, type Metrics } from '../observability';
import { derivedOnce } from './derived-once';
import { runCheck, type CheckResult } from './run-check';
import type { ServingConfig } from './serving-config';

export interface CheckHandlerDeps {
  /** The config in force; read once per call, so a reload never changes a call midway. */
  config(): ServingConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Absent when tracing is off. */
  readonly tracer?: CheckTracer;
  /**
   * Told when a call starts and ends, with the config it runs on, so a drain can wait for the
   * calls in flight and a reload closes a retired pool only after the calls using it.
   */
  track(delta: 1 | -1, config: ServingConfig): void;
  /**
   * Charges a request's wire size against `grpc.maxInFlightBytes`: true if it fits, and then
   * `release` is owed the same size once the check is answered; false to refuse the check.
   */
  admit(bytes: number): boolean;
  release(bytes: number): void;
  /** The CheckRequest from the bytes the Check method receives (protos.ts); throws on bytes that are not one. */
  decode(bytes: Buffer): CheckRequestMessage;
  /** The CheckResponse as the bytes the Check method answers with (protos.ts). */
  encode(message: CheckResponseMessage): Buffer;
}

/** Past `grpc.maxInFlightBytes`: the adapter's own bound, so denied in every mode, like `service.maxConcurrent`. */
const OVER_IN_FLIGHT_BYTES = Object.freeze(deny('overloaded', '', OVERLOADED_STATUS, OVERLOADED_HEADERS));

/** The Authorization/Check handler: run the pipeline, answer, log one line, count. */
export function createCheckHandler(deps: CheckHandlerDeps): grpc.handleUnaryCall<Buffer, Buffer> {
  const { logger, metrics, tracer } = deps;
  // A frozen decision is the same answer for every check that gets it (a scope's bypass, a
  // constant denial): encoded once, and kept only as long as the decision itself.
  const encodedOnce = new WeakMap<Decision, Buffer>();
  const encode = (decision: Decision): Buffer => deps.encode(toCheckResponse(decision));
  const answer = (decision: Decision): Buffer =>
    Object.isFrozen(decision) ? derivedOnce(encodedOnce, decision, encode) : encode(decision);
  // A decision line has a fixed shape, built in decisionFields from values the adapter chose and
  // Envoy's request id: nothing there for the redaction pass to find, so it skips that pass. It
  // follows the logger's level.
  const decisions = logger.child({}, { redact: [] });
  const writeDecision = decisionLineWriter(decisions);
  async function check(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): Promise<void> {
    const started = performance.now();
    const config = deps.config();
    const cancel = new Cancellation();
    call.on('cancelled', () => cancel.cancel());
    deps.track(1, config);
    // Charged before decoding: a refused request costs no decoding at all.
    const size = call.request.length;
    const admitted = deps.admit(size);
    try {
      let result: CheckResult;
      if (admitted) {
        const request = decodeOrUndefined(deps, call.request);
        if (!request) {
          callback(UNDECODABLE);
          return;
        }
        result = await runCheck(config, request, cancel, tracer, call.metadata);
      } else {
        metrics.countRefusal('in_flight_bytes');
        result = { decision: OVER_IN_FLIGHT_BYTES, requestId: '', calls: [] };
      }
      if (result.error !== undefined) {
        logger.error({ err: result.error, requestId: loggedRequestId(result.requestId) }, 'check failed unexpectedly; denying');
      }
      callback(null, answer(result.decision));
      const seconds = (performance.now() - started) / 1000;
      metrics.observeCheck(result.decision, result.calls, seconds);
      if (decisions.isLevelEnabled('info')) {
        writeDecision(decisionFields(result, seconds));
        if (result.dryRuns && result.dryRuns.length > 0) logDryRuns(decisions, result);
      }
    } finally {
      if (admitted) deps.release(size);
      deps.track(-1, config);
    }
  }
  return (call, callback) => void check(call, callback);
}

/** What grpc-js itself answers when a request's deserializer throws: the adapter decodes in the handler, and keeps that answer. */
const UNDECODABLE: Partial<grpc.StatusObject> = { code: grpc.status.INTERNAL, details: 'Error deserializing request' };

function decodeOrUndefined(deps: CheckHandlerDeps, bytes: Buffer): CheckRequestMessage | undefined {
  try {
    return deps.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Envoy copies the client's x-request-id; a client could otherwise write kilobytes into every log line. */
export const MAX_LOGGED_REQUEST_ID = 128;
/** One past the longest configured rule name, so a longer name shows as cut. */
export const MAX_LOGGED_RULE_NAME = 64;

function loggedRequestId(id: string): string {
  return id.length > MAX_LOGGED_REQUEST_ID ? id.slice(0, MAX_LOGGED_REQUEST_ID) : id;
}

/** One line per `dryRun` rule that would have denied: what it would have answered instead of allowing. */
function logDryRuns(logger: Logger, result: CheckResult): void {
  for (const would of result.dryRuns ?? []) {
    if (would.kind !== 'deny') continue;
    logger.info(
      {
        requestId: loggedRequestId(result.requestId),
        rule: would.rule,
        dryRun: true,
        decision: 'deny',
        reason: would.reason,
        status: would.status,
      },
      'dry run: would have denied',
    );
  }
}

function decisionFields(result: CheckResult, seconds: number): DecisionFields {
  const { decision, calls, requestedRule } = result;
  const last = calls.length > 0 ? calls[calls.length - 1] : undefined;
  return {
    requestId: loggedRequestId(result.requestId),
    rule: decision.rule,
    requestedRule: requestedRule === undefined ? undefined : requestedRule.slice(0, MAX_LOGGED_RULE_NAME),
    decision: decision.kind,
    reason: decision.reason,
    status: decision.kind === 'deny' ? decision.status : undefined,
    authStatus: last?.status,
    authError: last?.unavailable,
    latencyMs: Math.round(seconds * 10_000) / 10,
  };
}

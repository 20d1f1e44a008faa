import pino from 'pino';
import type { Logger } from './logger';

/** The fields of the one line logged per check, in the order they appear. */
export interface DecisionFields {
  readonly requestId: string;
  readonly rule: string;
  /** The rule name Envoy asked for, when it named one. */
  readonly requestedRule?: string;
  readonly decision: string;
  readonly reason: string;
  readonly status?: number;
  readonly authStatus?: number;
  readonly authError?: string;
  readonly latencyMs: number;
}

const { lsCacheSym, timeSym, chindingsSym, streamSym, endSym, mixinSym, formattersSym, hooksSym, messageKeySym, needsMetadataGsym } =
  pino.symbols;
// Exported by pino, but not in its type declarations.
const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol | undefined>)['msgPrefixSym'];

/** The stream a pino logger writes its lines to. */
interface LineStream {
  write(line: string): unknown;
}

const INFO = 30;

/**
 * Returns the function that writes a decision line through `logger`: byte for byte what
 * `logger.info(fields, 'check')` writes, without pino's generic path. That path walks the object,
 * escapes every key, and checks serializers and stringifiers per field; for a line of fixed shape
 * it was most of the cost of logging a check (docs/performance.md). A logger that changes lines
 * (mixin, log formatter, hooks, message prefix or key, a stream that wants metadata) keeps
 * pino's own path. The caller checks the level.
 */
export function decisionLineWriter(logger: Logger): (fields: DecisionFields) => void {
  // pino exports these symbols for reading a logger's state.
  const state = logger as unknown as Record<symbol, unknown>;
  const formatters = state[formattersSym] as { log?: unknown } | undefined;
  const hooks = state[hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const stream = state[streamSym] as LineStream & Record<symbol, unknown>;
  const levelStart = (state[lsCacheSym] as Record<number, unknown> | undefined)?.[INFO];
  const time = state[timeSym] as () => string;
  const end = state[endSym];
  const plain =
    !state[mixinSym] &&
    !formatters?.log &&
    !hooks?.logMethod &&
    !hooks?.streamWrite &&
    (msgPrefixSym === undefined || state[msgPrefixSym] === undefined) &&
    state[messageKeySym] === 'msg' &&
    stream[needsMetadataGsym] !== true &&
    typeof levelStart === 'string' &&
    typeof time === 'function' &&
    typeof end === 'string';
  if (!plain) return (fields) => logger.info(fields, 'check');
  return (f) => {
    // The logger's bindings (pid) as they stand, so a later `setBindings` is followed as pino does.
    let line = levelStart + time.call(logger) + (state[chindingsSym] as string);
    line += ',"requestId":' + JSON.stringify(f.requestId);
    line += ',"rule":' + JSON.stringify(f.rule);
    if (f.requestedRule !== undefined) line += ',"requestedRule":' + JSON.stringify(f.requestedRule);
    line += ',"decision":' + JSON.stringify(f.decision);
    line += ',"reason":' + JSON.stringify(f.reason);
    if (f.status !== undefined) line += ',"status":' + finite(f.status);
    if (f.authStatus !== undefined) line += ',"authStatus":' + finite(f.authStatus);
    if (f.authError !== undefined) line += ',"authError":' + JSON.stringify(f.authError);
    line += ',"latencyMs":' + finite(f.latencyMs) + ',"msg":"check"' + end;
    stream.write(line);
  };
}

/** As pino writes a number: a non-finite one as null. */
function finite(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

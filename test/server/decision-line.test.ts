import { Writable } from 'node:stream';
import pino from 'pino';
import { decisionLineWriter, type DecisionFields } from '../../src/server/observability';

/** A real pino logger into memory, with a fixed clock so two lines can be compared byte for byte. */
function memoryLogger(options: pino.LoggerOptions = {}): { logger: pino.Logger; written: string[] } {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'info', base: { pid: 42 }, timestamp: () => ',"time":1700000000000', ...options }, sink), written };
}

const FIELD_SETS: DecisionFields[] = [
  { requestId: 'req-1', rule: 'orders', decision: 'allow', reason: 'auth_allowed', authStatus: 200, latencyMs: 1.3 },
  { requestId: '', rule: '', decision: 'allow', reason: 'bypass', latencyMs: 0 },
  { requestId: 'r', rule: 'api', decision: 'deny', reason: 'auth_denied', status: 401, authStatus: 401, latencyMs: 12.5 },
  { requestId: 'x', rule: 'api', decision: 'deny', reason: 'unavailable_strict', status: 503, authError: 'timeout', latencyMs: 2000.1 },
  // What a client can put in x-request-id: quotes, backslashes, control characters, non-ASCII.
  { requestId: 'a"b\\c\u0001d\ttab é 日本 \u2028', rule: 'r"1', decision: 'allow', reason: 'auth_allowed', latencyMs: Number.NaN },
];

describe('decisionLineWriter', () => {
  it("writes exactly the line pino's own info() writes, for every shape of decision", () => {
    const fast = memoryLogger();
    const slow = memoryLogger();
    // As the check handler makes it: a child without the redaction pass.
    const write = decisionLineWriter(fast.logger.child({}, { redact: [] }));
    const reference = slow.logger.child({}, { redact: [] });
    for (const fields of FIELD_SETS) {
      write(fields);
      reference.info({ ...fields }, 'check');
    }
    expect(fast.written).toEqual(slow.written);
    expect(fast.written.map((l) => JSON.parse(l) as unknown)).toHaveLength(FIELD_SETS.length);
  });

  it('follows bindings set after it was made, as pino does', () => {
    const fast = memoryLogger();
    const slow = memoryLogger();
    const write = decisionLineWriter(fast.logger);
    fast.logger.setBindings({ worker: 2 });
    slow.logger.setBindings({ worker: 2 });
    write(FIELD_SETS[0]!);
    slow.logger.info({ ...FIELD_SETS[0] }, 'check');
    expect(fast.written).toEqual(slow.written);
  });

  it("leaves a logger that reshapes its lines (mixin, formatters) to pino's own path", () => {
    const options: pino.LoggerOptions = { mixin: () => ({ zone: 'eu' }), formatters: { level: (label) => ({ severity: label }) } };
    const fast = memoryLogger(options);
    const slow = memoryLogger(options);
    decisionLineWriter(fast.logger)(FIELD_SETS[2]!);
    slow.logger.info({ ...FIELD_SETS[2] }, 'check');
    expect(fast.written).toEqual(slow.written);
    expect(JSON.parse(fast.written[0]!)).toMatchObject({ zone: 'eu', severity: 'info', status: 401 });
  });
});

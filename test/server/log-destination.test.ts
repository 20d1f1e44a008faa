import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { decisionLineWriter, logDestination, pendingLog, type DecisionFields } from '../../src/server/observability';

// Real sonic-boom destinations writing real files in a temp dir.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'log-destination-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pino logger as the adapter configures one, with a fixed clock so two files can be compared byte for byte. */
function fileLogger(stream: pino.DestinationStream): pino.Logger {
  return pino({ level: 'info', base: { pid: 42 }, timestamp: () => ',"time":1700000000000' }, stream);
}

/** Resolves once the destination has written everything it took, told by its own write events; rejects after 10 s. */
function written(logger: pino.Logger): Promise<void> {
  const log = pendingLog(logger);
  if (!log) throw new Error('the logger has no destination that holds lines');
  return new Promise((resolve, reject) => {
    if (log.pendingBytes() === 0) return resolve();
    const deadline = setTimeout(() => {
      stop();
      reject(new Error(`${log.pendingBytes()} bytes still pending after 10 s`));
    }, 10_000);
    const stop = log.onWrite(() => {
      if (log.pendingBytes() > 0) return;
      clearTimeout(deadline);
      stop();
      resolve();
    });
  });
}

const DECISIONS: DecisionFields[] = [
  { requestId: 'req-1', rule: 'orders', decision: 'allow', reason: 'auth_allowed', authStatus: 200, latencyMs: 1.3 },
  { requestId: 'r', rule: 'api', decision: 'deny', reason: 'auth_denied', status: 401, authStatus: 401, latencyMs: 12.5 },
  // What a client can put in x-request-id: quotes, backslashes, control characters, non-ASCII, a lone surrogate.
  { requestId: 'a"b\\c\u0001d\ttab é 日本 \u2028 \ud800', rule: 'r"1', decision: 'allow', reason: 'auth_allowed', latencyMs: 0 },
];

/** The same calls on a logger: decision lines, pino's own lines, multi-byte text, and a line longer than a write. */
function logEverything(logger: pino.Logger): number {
  const decision = decisionLineWriter(logger.child({}, { redact: [] }));
  let lines = 0;
  for (let i = 0; i < 200; i++) {
    decision(DECISIONS[i % DECISIONS.length]!);
    logger.info({ i, note: 'überprüft ✓ 𝄞' }, 'reload applied');
    lines += 2;
  }
  logger.warn({ problems: Array.from({ length: 400 }, (_, i) => `rules[${i}]: expected a mapping`) }, 'reload rejected');
  logger.error('a lone surrogate in a message: \udc00');
  return lines + 2;
}

describe('logDestination', () => {
  it("writes every line byte for byte as pino's text-mode destination does", async () => {
    const buffers = fileLogger(logDestination({ dest: path.join(dir, 'buffers.log'), maxPendingBytes: 8 * 1024 * 1024 }));
    const text = fileLogger(pino.destination({ dest: path.join(dir, 'text.log'), sync: false, maxWrite: 2048 }));
    const lines = logEverything(buffers);
    expect(logEverything(text)).toBe(lines);
    await Promise.all([written(buffers), written(text)]);
    const fromBuffers = readFileSync(path.join(dir, 'buffers.log'));
    const fromText = readFileSync(path.join(dir, 'text.log'));
    expect(fromBuffers.equals(fromText)).toBe(true);
    expect(fromBuffers.toString('utf8').split('\n')).toHaveLength(lines + 1);
  });

  it('counts the bytes it holds, drops and counts lines past the bound, and writes out what it held', async () => {
    let dropped = 0;
    const file = path.join(dir, 'bounded.log');
    const logger = fileLogger(logDestination({ dest: file, maxPendingBytes: 4096, onDrop: () => dropped++ }));
    const log = pendingLog(logger.child({ worker: 1 }));
    expect(log).toBeDefined();
    // The file opens asynchronously: until it has, every line is held, so the count is exact.
    let held = 0;
    let sent = 0;
    for (; sent < 100; sent++) {
      const before = log!.pendingBytes();
      logger.info({ i: sent }, 'held until the file opens');
      held += log!.pendingBytes() - before;
    }
    expect(dropped).toBeGreaterThan(0);
    expect(log!.pendingBytes()).toBe(held);
    expect(held).toBeLessThanOrEqual(4096);
    expect(held).toBeGreaterThan(4096 - 200);
    await written(logger);
    const content = readFileSync(file);
    expect(content.length).toBe(held);
    expect(content.toString('utf8').split('\n').filter(Boolean).length + dropped).toBe(sent);
  });

  it('is not offered for a stream that holds nothing of its own', () => {
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    expect(pendingLog(pino(sink))).toBeUndefined();
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { logDestination, pendingLog } from '../../src/server/observability';

// A real sonic-boom destination writing a real file in a temp dir.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'log-destination-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pino logger as the adapter configures one, with a fixed clock so every line has the same length. */
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

describe('logDestination', () => {
  it('counts the bytes it holds, drops and counts lines past the bound, and writes out what it held', async () => {
    let dropped = 0;
    const file = path.join(dir, 'bounded.log');
    const logger = fileLogger(logDestination({ dest: file, maxPendingBytes: 4096, onDrop: () => dropped++ }));
    const log = pendingLog(logger.child({ worker: 1 }));
    expect(log).toBeDefined();
    // The file opens asynchronously: until it has, every line is held.
    const SENT = 100;
    for (let i = 0; i < SENT; i++) logger.info({ i }, 'held until the file opens');
    const held = log!.pendingBytes();
    expect(dropped).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(4096);
    await written(logger);
    // What it counted as pending is exactly what reached the file: no line was cut or lost unseen.
    const content = readFileSync(file);
    expect(content.length).toBe(held);
    const lines = content.toString('utf8').split('\n').filter(Boolean);
    expect(held).toBeGreaterThan(4096 - Buffer.byteLength(lines[0]! + '\n'));
    expect(lines.length + dropped).toBe(SENT);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(lines.length).keys()]);
  });

  it('is not offered for a stream that holds nothing of its own', () => {
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    expect(pendingLog(pino(sink))).toBeUndefined();
  });
});

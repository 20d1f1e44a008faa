import { spawn } from 'node:child_process';
import path from 'node:path';
import { MAX_PENDING_LOG_BYTES } from '../../src/server/observability/logger';
import { builtCli } from '../helpers/cli-process';

const LINES = 60_000;
const MESSAGE = 'x'.repeat(200);

/**
 * The real logger in a child process whose stdout is a pipe this test does not read at first: a
 * log reader that has stalled. The child logs LINES lines (~17 MB, twice the pending bound),
 * reports what it dropped and its heap on stderr, and the test then drains stdout so it can exit.
 */
function logIntoStalledPipe(): Promise<{
  dropped: number;
  heapUsed: number;
  received: number;
  receivedBytes: number;
  code: number | null;
}> {
  const logger = path.join(path.dirname(builtCli()), '..', 'dist', 'server', 'observability', 'logger.js');
  const script = `
    const { createLogger } = require(${JSON.stringify(logger)});
    let dropped = 0;
    const log = createLogger('info', () => dropped++);
    for (let i = 0; i < ${LINES}; i++) log.info({ i }, ${JSON.stringify(MESSAGE)});
    process.stderr.write(JSON.stringify({ dropped, heapUsed: process.memoryUsage().heapUsed }) + '\\n');
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pause();
  let stderr = '';
  let received = 0;
  let receivedBytes = 0;
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.endsWith('\n')) child.stdout.resume();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      for (const byte of chunk) if (byte === 0x0a) received++;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        const report = JSON.parse(stderr) as { dropped: number; heapUsed: number };
        resolve({ ...report, received, receivedBytes, code });
      } catch {
        reject(new Error(`child did not report: ${stderr}`));
      }
    });
  });
}

describe('logger toward a stalled stdout', () => {
  it('holds at most the pending bound, drops and counts the rest, and writes out what it held', async () => {
    const { dropped, heapUsed, received, receivedBytes, code } = await logIntoStalledPipe();
    expect(code).toBe(0);
    expect(dropped).toBeGreaterThan(0);
    // Nothing is lost silently: every line is either written or counted as dropped.
    expect(received + dropped).toBe(LINES);
    // What got through is what the bound held, plus what the pipe took before it stalled (64 KiB
    // on Linux) and one write chunk.
    expect(receivedBytes).toBeLessThanOrEqual(MAX_PENDING_LOG_BYTES + 64 * 1024 + 2048);
    expect(receivedBytes).toBeGreaterThan(MAX_PENDING_LOG_BYTES - 2048);
    expect(heapUsed).toBeLessThan(64 * 1024 * 1024);
  });
});

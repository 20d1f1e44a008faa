import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigError } from '../../src/config';
import { compileConfigFile } from '../../src/server/check/compile-config';
import { TestAdapter, configYaml, writeConfig } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';

// Finding 7 of issue 12: connection headers cannot be forwarded, a URL's credentials are never
// echoed, and a client's request id cannot fill the log.

class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

async function loadError(yaml: string): Promise<string> {
  try {
    await compileConfigFile(writeConfig(yaml));
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
}

describe('forwarded-header lists refuse connection and framing headers, with the key path', () => {
  test.each([
    ['request: { allowedHeaders: [x-tenant, expect] }', 'rules[0].request.allowedHeaders[1]: "expect"'],
    ['request: { allowedHeaders: [Content-Length] }', 'rules[0].request.allowedHeaders[0]: "content-length"'],
    ['request: { tokenHeader: proxy-authorization }', 'rules[0].request.tokenHeader: "proxy-authorization"'],
    ['request: { tokenHeader: [authorization, te] }', 'rules[0].request.tokenHeader[1]: "te"'],
    ['response: { allowedHeaders: [x-user-id, transfer-encoding] }', 'rules[0].response.allowedHeaders[1]: "transfer-encoding"'],
    ['response: { allowedHeaders: [host] }', 'rules[0].response.allowedHeaders[0]: "host"'],
  ])('%s', async (block, expected) => {
    const message = await loadError(configYaml(`  - name: r\n    service: { url: "http://127.0.0.1:1" }\n    ${block}\n`));
    expect(message).toContain(expected);
    expect(message).toContain('cannot be forwarded');
  });
});

describe('URL credentials', () => {
  const URL_WITH_SECRET = 'http://admin:s3cret@auth :8000';

  test('are redacted in config errors (what validate and explain print)', async () => {
    const message = await loadError(configYaml(`  - name: r\n    service: { url: "${URL_WITH_SECRET}" }\n`));
    expect(message).toContain('rules[0].service.url');
    expect(message).toContain('http://admin:***@auth :8000');
    expect(message).not.toContain('s3cret');
  });

  test('are redacted in the log when a reload is rejected', async () => {
    const auth = await TestAuthService.start(reply(200));
    const sink = new Lines();
    const ok = configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n`);
    const adapter = await TestAdapter.start(ok, { logger: pino({ level: 'info' }, sink) });
    try {
      writeFileSync(adapter.configFile, configYaml(`  - name: r\n    service: { url: "${URL_WITH_SECRET}" }\n`));
      expect(await adapter.server.reload()).toBe(false);
    } finally {
      await adapter.close();
      await auth.close();
    }
    const rejected = sink.lines.filter((l) => l.includes('config reload rejected'));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toContain('http://admin:***@auth :8000');
    expect(sink.lines.filter((l) => l.includes('s3cret'))).toEqual([]);
  });
});

test('the logged request id is capped at 128 characters', async () => {
  const auth = await TestAuthService.start(reply(200));
  const sink = new Lines();
  const adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n`), {
    logger: pino({ level: 'info' }, sink),
  });
  try {
    await adapter.client.check(checkRequest({ headers: { 'x-request-id': 'r'.repeat(10_000) } }));
  } finally {
    await adapter.close();
    await auth.close();
  }
  const line = sink.lines.find((l) => l.includes('"msg":"check"'));
  const logged = String(JSON.parse(line ?? '{}').requestId);
  expect(logged.length).toBe(128);
  expect(logged).toMatch(/^r+$/);
});

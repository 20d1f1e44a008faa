import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, deadUrl } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { TestCa } from '../helpers/test-ca';
import { until } from '../helpers/until';

// Secrets never reach a log line, and /config never shows them. The adapter, its auth calls and
// the auth service are real; only the log destination is a stream the test reads.

const TOKEN = 'SECRET-TOKEN-7f3a';
const COOKIE = 'SECRET-COOKIE-91bc';
const BODY = 'SECRET-BODY-c0de';
const SECRETS = [TOKEN, COOKIE, BODY];

class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

describe('secrets in logs', () => {
  test('a planted token, cookie and body appear in no log line at trace level, on every code path', async () => {
    const held: http.ServerResponse[] = [];
    const slow: http.ServerResponse[] = [];
    // The auth service echoes what it got in every way it can: headers, cookies, body.
    const auth = await TestAuthService.start((req, res) => {
      const mode = req.url.split('/')[2] ?? '';
      const echo = { 'x-echo': String(req.headers.authorization), 'set-cookie': `sid=${COOKIE}` };
      if (mode === 'deny') return void res.writeHead(401, echo).end(`${BODY} ${req.headers.authorization}`);
      if (mode === 'false') return void res.writeHead(200, { ...echo, 'x-mse-external-authz-check-result': 'false' }).end(BODY);
      if (mode === 'error') return void res.writeHead(503, echo).end(BODY);
      if (mode === 'slow') return void slow.push(res);
      if (mode === 'held') return void held.push(res);
      res.writeHead(200, { ...echo, 'x-user-id': TOKEN }).end(BODY);
    });
    const sink = new Lines();
    const logger = pino({ level: 'trace' }, sink);
    const dead = await deadUrl();
    const rules =
      `  - name: token\n    service: { url: "${auth.url}", path: /a, timeout: 300ms, maxConcurrent: 1 }\n` +
      '    request: { allowedHeaders: [x-api-key], body: { enabled: true }, maxHeaderBytes: 1024 }\n' +
      '    response: { allowedHeaders: [x-user-id] }\n' +
      `  - name: cookie\n    service: { url: "${auth.url}", path: /a, mode: loose, timeout: 300ms }\n    request: { tokenHeader: cookie }\n` +
      `  - name: dead\n    service: { url: "${dead}", mode: loose }\n`;
    const adapter = await TestAdapter.start(configYaml(rules, 'log: { level: trace }\n'), { logger });
    const secretHeaders = { authorization: `Bearer ${TOKEN}`, cookie: `session=${COOKIE}`, 'x-api-key': TOKEN };
    const send = (rule: string, p: string, extra: Record<string, string> = {}) =>
      adapter.client.check(
        checkRequest({ path: p, method: 'POST', body: BODY, headers: { ...secretHeaders, ...extra }, contextExtensions: { rule } }),
      );
    try {
      for (const p of ['/ok', '/deny', '/false', '/error', '/slow']) {
        await send('token', p);
        await send('cookie', p);
      }
      await send('dead', '/ok');
      await send('token', '/ok', { authorization: `Bearer ${TOKEN}\r\nx: 1` });
      await send('token', '/ok', { 'x-api-key': `${TOKEN}${'k'.repeat(2048)}` });
      await send('nope', '/ok');
      await adapter.client.check({});
      const first = send('token', '/held');
      await until('the first call to reach the auth service', () => held.length > 0, 20_000);
      await send('token', '/overloaded');
      held[0].writeHead(200).end();
      await first;
      writeFileSync(adapter.configFile, `${configYaml(rules, 'log: { level: trace }\n')}  - name: broken\n    service: {}\n`);
      expect(await adapter.server.reload()).toBe(false);
      writeFileSync(adapter.configFile, configYaml(rules, 'log: { level: trace }\n'));
      expect(await adapter.server.reload()).toBe(true);
    } finally {
      for (const r of [...held, ...slow]) if (!r.writableEnded) r.end();
      await adapter.close();
      await auth.close();
    }

    // The test means something only if the adapter did log, at debug and info, about these checks.
    expect(sink.lines.filter((l) => l.includes('"msg":"check"')).length).toBeGreaterThanOrEqual(15);
    expect(sink.lines.some((l) => l.includes('config reload rejected'))).toBe(true);
    const leaks = sink.lines.filter((l) => SECRETS.some((s) => l.includes(s)));
    expect(leaks).toEqual([]);
  });
});

describe('/config', () => {
  /**
   * Real PEM files: a config whose TLS material cannot be parsed is refused at load. `keyBody` is
   * a line of the private key's base64, the secret that must never show.
   */
  function tlsFiles(): { key: string; cert: string; ca: string; keyBody: string } {
    const ca = TestCa.create('secrets-ca');
    const leaf = ca.issue('client');
    const keyBody = leaf.key.toString('utf8').split('\n')[1];
    return { key: leaf.keyFile, cert: leaf.certFile, ca: ca.pem.certFile, keyBody };
  }

  function tlsRule(files: ReturnType<typeof tlsFiles>): string {
    // The https service is never called here: the TLS material only has to load.
    return (
      '  - name: mtls\n' +
      `    service: { url: "https://127.0.0.1:1", tls: { ca: "${files.ca}", cert: "${files.cert}", key: "${files.key}" } }\n`
    );
  }

  test('is disabled unless admin.exposeConfig is true', async () => {
    const adapter = await TestAdapter.start(configYaml(tlsRule(tlsFiles())));
    try {
      const res = await fetch(`http://127.0.0.1:${adapter.server.adminPort}/config`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('admin.exposeConfig');
    } finally {
      await adapter.close();
    }
  });

  test('when exposed, shows the settings but neither key material nor the key file location', async () => {
    const files = tlsFiles();
    const top = 'admin: { address: "127.0.0.1:0", exposeConfig: true }\n';
    const yaml = configYaml(tlsRule(files)).replace('admin: { address: "127.0.0.1:0" }\n', top);
    const adapter = await TestAdapter.start(yaml);
    try {
      const res = await fetch(`http://127.0.0.1:${adapter.server.adminPort}/config`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const body = JSON.parse(text) as { rules: Array<{ name: string; service: { url: string; tls: Record<string, string> } }> };
      expect(body.rules[0].name).toBe('mtls');
      expect(body.rules[0].service.url).toBe('https://127.0.0.1:1');
      expect(body.rules[0].service.tls.key).not.toBe(files.key);
      for (const secret of [files.keyBody, 'PRIVATE KEY', files.key]) expect(text).not.toContain(secret);
    } finally {
      await adapter.close();
    }
  });
});

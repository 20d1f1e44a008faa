import http from 'node:http';
import pino from 'pino';
import { AdapterServer } from '../../src/server/runtime/adapter-server';
import { TestAdapter, configYaml, ruleYaml, writeConfig } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { httpGet } from '../helpers/prom-text';
import { TestCa } from '../helpers/test-ca';

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

beforeEach(async () => {
  auth = await TestAuthService.start(reply(200));
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

function request(port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/readyz is 503 until the gRPC port is bound, 200 while serving and 503 once draining; /healthz stays 200', async () => {
  const server = await AdapterServer.create({
    configFile: writeConfig(
      configYaml(ruleYaml('api', auth.url), 'shutdown: { drainDelay: 300ms, timeout: 1s }\n').replace(
        /shutdown: \{ drainDelay: 0s, timeout: 5s \}\n/,
        '',
      ),
    ),
    logger: pino({ level: 'silent' }),
  });
  try {
    expect(server.adminPort).toBeGreaterThan(0);
    expect((await httpGet(server.adminPort, '/readyz')).status).toBe(503);
    expect((await httpGet(server.adminPort, '/healthz')).status).toBe(200);
    await server.listen();
    expect((await httpGet(server.adminPort, '/readyz')).status).toBe(200);
    const stopping = server.shutdown();
    expect((await httpGet(server.adminPort, '/readyz')).status).toBe(503);
    expect((await httpGet(server.adminPort, '/healthz')).status).toBe(200);
    await stopping;
  } finally {
    await server.shutdown();
  }
});

test('/config is 404 unless admin.exposeConfig is true', async () => {
  adapter = await TestAdapter.start(configYaml(ruleYaml('api', auth.url)));
  const res = await httpGet(adapter.server.adminPort, '/config');
  expect(res.status).toBe(404);
  expect(res.body).toContain('admin.exposeConfig');
});

test('/config shows the effective config with key material redacted', async () => {
  const ca = TestCa.create('Config CA');
  const leaf = ca.issue('adapter');
  const yaml = configYaml(
    ruleYaml(
      'api',
      'https://auth.internal:8443',
      `      tls: { ca: ${ca.pem.certFile}, cert: ${leaf.certFile}, key: ${leaf.keyFile} }\n`,
    ).replace('timeout: 2s }', 'timeout: 2s,') + '    }\n',
  )
    .replace('admin: { address: "127.0.0.1:0" }', 'admin: { address: "127.0.0.1:0", exposeConfig: true }')
    .replace('grpc: { address: "127.0.0.1:0" }', `grpc: { address: "127.0.0.1:0", tls: { cert: ${leaf.certFile}, key: ${leaf.keyFile} } }`);
  adapter = await TestAdapter.start(yaml);
  const res = await httpGet(adapter.server.adminPort, '/config');
  expect(res.status).toBe(200);
  expect(res.type).toBe('application/json');
  const config = JSON.parse(res.body) as {
    grpc: { tls: { cert: string; key: string } };
    rules: Array<{ name: string; service: { url: string; timeoutMs: number; tls: { ca: string; key: string } } }>;
  };
  expect(config.rules[0]).toMatchObject({ name: 'api', service: { url: 'https://auth.internal:8443', timeoutMs: 2000 } });
  expect(config.grpc.tls).toEqual({ cert: leaf.certFile, key: '[redacted]' });
  expect(config.rules[0].service.tls).toMatchObject({ ca: ca.pem.certFile, key: '[redacted]' });
  expect(res.body).not.toContain(leaf.keyFile);
  expect(res.body).not.toContain('PRIVATE KEY');
});

test('only GET and HEAD; unknown paths are 404', async () => {
  adapter = await TestAdapter.start(configYaml(ruleYaml('api', auth.url)));
  const port = adapter.server.adminPort;
  expect(await request(port, 'POST', '/metrics')).toBe(405);
  expect(await request(port, 'HEAD', '/metrics')).toBe(200);
  expect(await request(port, 'GET', '/nope')).toBe(404);
  const metrics = await httpGet(port, '/metrics');
  expect(metrics.type).toContain('text/plain');
  expect(metrics.body).toContain('# TYPE ext_authz_checks_total counter');
});

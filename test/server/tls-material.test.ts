import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TestAdapter, configYaml, writeConfig } from '../helpers/adapter';
import { CheckClient, checkRequest } from '../helpers/check-client';
import { builtCli } from '../helpers/cli-process';
import { TestCa, type Pem } from '../helpers/test-ca';
import { summarize } from '../reliability/summary';

// Issue 19, finding 3 and the SNI item of finding 8: TLS files are checked as TLS material by
// `validate`, at start and on reload, and a bad one leaves the old material serving. The PKI is
// made here with the openssl CLI; expired and not-yet-valid certificates come from `openssl ca`.

let ca: TestCa;
let serverPem: Pem;
let envoyPem: Pem;
let expired: Pem;
let notYetValid: Pem;
let authServer: https.Server;
let authPort = 0;
/** Per TLS connection the auth service accepted: the SNI the adapter sent (false: none). */
const handshakes: Array<string | false> = [];
const hostsSeen: string[] = [];

beforeAll(async () => {
  ca = TestCa.create('Material CA');
  serverPem = ca.issue('adapter');
  envoyPem = ca.issue('envoy');
  expired = ca.issueValid('adapter', '20200101000000Z', '20200102000000Z');
  notYetValid = ca.issueValid('adapter', '20400101000000Z', '20400102000000Z');
  const authPem = ca.issue('auth', ['IP:127.0.0.1']);
  authServer = https.createServer({ cert: authPem.cert, key: authPem.key }, (req, res) => {
    hostsSeen.push(String(req.headers.host));
    res.writeHead(200).end();
  });
  authServer.on('secureConnection', (s: TLSSocket) => handshakes.push((s as TLSSocket & { servername: string | false }).servername));
  await new Promise<void>((resolve) => authServer.listen(0, '127.0.0.1', resolve));
  authPort = (authServer.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  authServer.closeAllConnections();
  await new Promise<void>((resolve) => authServer.close(() => resolve()));
});

let adapter: TestAdapter | undefined;
const clients: CheckClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await adapter?.close();
  adapter = undefined;
  handshakes.length = 0;
  hostsSeen.length = 0;
});

/** Copies of the good material at fixed paths, so a test can break one file and reload. */
function files(): { dir: string; cert: string; key: string; clientCa: string; serviceCa: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ext-authz-material-'));
  const f = {
    dir,
    cert: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
    clientCa: path.join(dir, 'client-ca.crt'),
    serviceCa: path.join(dir, 'service-ca.crt'),
  };
  copyFileSync(serverPem.certFile, f.cert);
  copyFileSync(serverPem.keyFile, f.key);
  copyFileSync(ca.pem.certFile, f.clientCa);
  copyFileSync(ca.pem.certFile, f.serviceCa);
  return f;
}

/** mTLS toward Envoy, https toward the auth service (loose: a CA that fails would let checks through). */
function config(f: ReturnType<typeof files>, extra = ''): string {
  return configYaml(
    `  - name: r\n    service: { url: "https://127.0.0.1:${authPort}", mode: loose, timeout: 5s, connections: 2, tls: { ca: ${f.serviceCa} } }\n${extra}`,
  ).replace(
    'grpc: { address: "127.0.0.1:0" }',
    `grpc: { address: "127.0.0.1:0", tls: { cert: ${f.cert}, key: ${f.key}, clientCa: ${f.clientCa} } }`,
  );
}

function envoy(): CheckClient {
  const c = new CheckClient(
    `127.0.0.1:${adapter?.server.grpcPort}`,
    grpc.credentials.createSsl(ca.pem.cert, envoyPem.key, envoyPem.cert),
    // Its own connection, so each client makes a fresh handshake with the material in force.
    { 'grpc.use_local_subchannel_pool': 1 },
  );
  clients.push(c);
  return c;
}

/** Allowed by the auth service itself: no failure-mode header. */
async function allowedByService(host = 'www.example.com'): Promise<boolean> {
  const s = summarize(await envoy().check(checkRequest({ host }), 5000));
  return s.code === 0 && !JSON.stringify(s.set).includes('failure-mode');
}

type Breakage = readonly [string, string, (f: ReturnType<typeof files>) => void, RegExp];
const BREAKAGES: readonly Breakage[] = [
  [
    'service.tls.ca cut to 300 bytes',
    'rules[0].service.tls.ca',
    (f) => writeFileSync(f.serviceCa, ca.pem.cert.subarray(0, 300)),
    /is cut off/,
  ],
  ['an empty grpc.tls.clientCa', 'grpc.tls.clientCa', (f) => writeFileSync(f.clientCa, ''), /holds no PEM certificate/],
  ['a grpc.tls.clientCa cut short', 'grpc.tls.clientCa', (f) => writeFileSync(f.clientCa, ca.pem.cert.subarray(0, 300)), /is cut off/],
  [
    'an expired server certificate',
    'grpc.tls.cert',
    (f) => (copyFileSync(expired.certFile, f.cert), copyFileSync(expired.keyFile, f.key)),
    /expired at 2020-01-02T00:00:00.000Z/,
  ],
  [
    'a server certificate not valid yet',
    'grpc.tls.cert',
    (f) => (copyFileSync(notYetValid.certFile, f.cert), copyFileSync(notYetValid.keyFile, f.key)),
    /is not valid before 2040-01-01T00:00:00.000Z/,
  ],
  ['a key from another pair', 'grpc.tls.key', (f) => copyFileSync(envoyPem.keyFile, f.key), /is not the private key of the certificate/],
];

describe('validate', () => {
  test('accepts the good material', () => {
    const r = spawnSync(process.execPath, [builtCli(), 'validate', '--config', writeConfig(config(files()))], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test.each(BREAKAGES)('refuses %s, naming the key path, the file and what is wrong', (_name, key, breakIt, message) => {
    const f = files();
    breakIt(f);
    const r = spawnSync(process.execPath, [builtCli(), 'validate', '--config', writeConfig(config(f))], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const line = r.stderr.split('\n').find((l) => l.includes(`${key}: `));
    expect(line).toMatch(message);
    expect(line).toContain(f.dir);
  });
});

describe('start and reload', () => {
  test.each(BREAKAGES)('start refuses %s', async (_name, key, breakIt, message) => {
    const f = files();
    breakIt(f);
    // One that starts anyway is kept for afterEach to close.
    const refused = await TestAdapter.start(config(f)).then(
      (started) => void (adapter = started),
      (err: Error) => err.message,
    );
    expect(refused).toMatch(message);
    expect(refused).toContain(`${key}: `);
  });

  test.each(BREAKAGES)('a reload with %s is rejected and the old material keeps serving', async (_name, _key, breakIt) => {
    const f = files();
    adapter = await TestAdapter.start(config(f));
    expect(await allowedByService()).toBe(true);
    breakIt(f);
    expect(await adapter.server.reload()).toBe(false);
    expect(await allowedByService()).toBe(true);
    expect(handshakes.length).toBeGreaterThan(0);
  });
});

describe('an https:// auth service named by its IP address', () => {
  test('gets no SNI, whatever Host the client sent, and one handshake per pooled connection', async () => {
    adapter = await TestAdapter.start(config(files()));
    const client = envoy();
    for (let i = 0; i < 20; i++) {
      const s = summarize(await client.check(checkRequest({ host: `tenant-${i}.example.com` }), 5000));
      expect(s.code).toBe(0);
    }
    expect(hostsSeen).toHaveLength(20);
    expect(new Set(hostsSeen).size).toBe(20);
    expect(handshakes.length).toBeGreaterThan(0);
    expect(handshakes.length).toBeLessThanOrEqual(2);
    expect(new Set(handshakes)).toEqual(new Set([false]));
  });
});

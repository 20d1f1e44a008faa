import { copyFileSync, mkdtempSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { CheckClient, checkRequest } from '../helpers/check-client';
import { scrape, sumOf } from '../helpers/prom-text';
import { TestCa, type Pem } from '../helpers/test-ca';

// TLS on both links, with certificate authorities made in the test by the openssl CLI.

let adapter: TestAdapter | undefined;
const clients: CheckClient[] = [];
let ca: TestCa;
let otherCa: TestCa;

beforeAll(() => {
  ca = TestCa.create('Adapter Test CA');
  otherCa = TestCa.create('Some Other CA');
}, 30_000);

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await adapter?.close();
  adapter = undefined;
});

/** A client on its own connection, so every call below is a fresh TLS handshake. */
function client(credentials: grpc.ChannelCredentials): CheckClient {
  const c = new CheckClient(`127.0.0.1:${adapter?.server.grpcPort}`, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(c);
  return c;
}

async function allowed(c: CheckClient): Promise<boolean> {
  return (await c.check(checkRequest(), 3000)).ok_response !== undefined;
}

/** Server certificate and key at fixed paths, so a test can replace them and reload. */
function serverFiles(leaf: Pem): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ext-authz-tls-'));
  const files = { dir, cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
  copyFileSync(leaf.certFile, files.cert);
  copyFileSync(leaf.keyFile, files.key);
  return files;
}

// No rule needs authentication ("/public/*" is whitelisted), so these tests exercise only the gRPC link.
const BYPASS_RULE =
  '  - name: open\n    service: { url: "http://127.0.0.1:9", timeout: 1s }\n    match: { mode: whitelist, conditions: [ { path: "/*" } ] }\n';

function withGrpcTls(tls: string): string {
  return configYaml(BYPASS_RULE).replace('grpc: { address: "127.0.0.1:0" }', `grpc: { address: "127.0.0.1:0", tls: ${tls} }`);
}

describe('the Envoy to adapter link', () => {
  test('TLS: a client trusting the CA completes a Check; a plaintext client and one trusting another CA are refused', async () => {
    const files = serverFiles(ca.issue('adapter'));
    adapter = await TestAdapter.start(withGrpcTls(`{ cert: ${files.cert}, key: ${files.key} }`));
    expect(await allowed(client(grpc.credentials.createSsl(ca.pem.cert)))).toBe(true);
    await expect(allowed(client(grpc.credentials.createInsecure()))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(allowed(client(grpc.credentials.createSsl(otherCa.pem.cert)))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  test('mTLS: a client certificate from the client CA is required', async () => {
    const files = serverFiles(ca.issue('adapter'));
    const envoy = ca.issue('envoy');
    const stranger = otherCa.issue('envoy');
    adapter = await TestAdapter.start(withGrpcTls(`{ cert: ${files.cert}, key: ${files.key}, clientCa: ${ca.pem.certFile} }`));
    expect(await allowed(client(grpc.credentials.createSsl(ca.pem.cert, envoy.key, envoy.cert)))).toBe(true);
    await expect(allowed(client(grpc.credentials.createSsl(ca.pem.cert)))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(allowed(client(grpc.credentials.createSsl(ca.pem.cert, stranger.key, stranger.cert)))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });

  test('certificates are reloaded with the config; a key that does not match is rejected and the old pair keeps serving', async () => {
    const files = serverFiles(ca.issue('adapter'));
    adapter = await TestAdapter.start(withGrpcTls(`{ cert: ${files.cert}, key: ${files.key} }`));
    const trustsOld = (): CheckClient => client(grpc.credentials.createSsl(ca.pem.cert));
    const trustsNew = (): CheckClient => client(grpc.credentials.createSsl(otherCa.pem.cert));
    expect(await allowed(trustsOld())).toBe(true);

    // The new certificate with the old key: refused before it reaches the listener.
    const renewed = otherCa.issue('adapter');
    copyFileSync(renewed.certFile, files.cert);
    expect(await adapter.server.reload()).toBe(false);
    expect(await allowed(trustsOld())).toBe(true);

    copyFileSync(renewed.keyFile, files.key);
    expect(await adapter.server.reload()).toBe(true);
    expect(await allowed(trustsNew())).toBe(true);
    await expect(allowed(trustsOld())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const samples = await scrape(adapter.server.adminPort);
    expect(sumOf(samples, 'ext_authz_config_reloads_total', { result: 'failure' })).toBe(1);
    expect(sumOf(samples, 'ext_authz_config_reloads_total', { result: 'success' })).toBe(1);
  });
});

describe('an https:// auth service', () => {
  let server: https.Server;
  let port = 0;
  const seen: Array<{ clientCn: string | undefined }> = [];

  beforeAll(async () => {
    // Named only auth.internal: reached at 127.0.0.1, it verifies only with service.tls.serverName.
    const leaf = ca.issue('auth', ['DNS:auth.internal']);
    server = https.createServer(
      { cert: leaf.cert, key: leaf.key, ca: ca.pem.cert, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const authorized = (req.socket as TLSSocket).authorized;
        seen.push({ clientCn: authorized ? String(peer.subject?.CN) : undefined });
        res.writeHead(200).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  function rule(name: string, tls: string): string {
    return `  - name: ${name}\n    service: { url: "https://127.0.0.1:${port}", timeout: 2s, tls: ${tls} }\n`;
  }

  test('verifies the service with service.tls.ca and serverName, and presents a client certificate', async () => {
    const adapterLeaf = ca.issue('ext-authz-adapter');
    adapter = await TestAdapter.start(
      configYaml(
        rule('good', `{ ca: ${ca.pem.certFile}, serverName: auth.internal, cert: ${adapterLeaf.certFile}, key: ${adapterLeaf.keyFile} }`) +
          rule('no-client-cert', `{ ca: ${ca.pem.certFile}, serverName: auth.internal }`) +
          rule('wrong-name', `{ ca: ${ca.pem.certFile} }`) +
          rule('wrong-ca', `{ ca: ${otherCa.pem.certFile}, serverName: auth.internal }`),
      ),
    );
    const pinned = (name: string): Promise<boolean> =>
      adapter!.client.check(checkRequest({ contextExtensions: { rule: name } })).then((r) => r.ok_response !== undefined);

    expect(await pinned('good')).toBe(true);
    expect(seen).toEqual([{ clientCn: 'ext-authz-adapter' }]);
    expect(await pinned('no-client-cert')).toBe(true);
    expect(seen[1]).toEqual({ clientCn: undefined });
    // Strict mode: a service whose certificate does not verify is unavailable, so the check is denied.
    expect(await pinned('wrong-name')).toBe(false);
    expect(await pinned('wrong-ca')).toBe(false);
    expect(seen).toHaveLength(2);
    const samples = await scrape(adapter.server.adminPort);
    expect(sumOf(samples, 'ext_authz_auth_service_errors_total', { rule: 'wrong-name', kind: 'connect' })).toBe(1);
    expect(sumOf(samples, 'ext_authz_auth_service_errors_total', { rule: 'wrong-ca', kind: 'connect' })).toBe(1);
  });
});

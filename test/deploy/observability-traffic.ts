import net from 'node:net';
import { configYaml } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { checkRequest, type CheckClient } from '../helpers/check-client';

/**
 * A little traffic that makes the adapter create every series the alerts and the dashboard
 * read: allowed and denied checks, a cache hit, a loose and a strict rule whose auth service
 * is down. The caller adds a reload (for ext_authz_config_reloads_total).
 */

/** Allows "Bearer good", denies anything else. */
export function startAuthService(): Promise<TestAuthService> {
  return TestAuthService.start((req, res) => {
    res.writeHead(req.headers.authorization === 'Bearer good' ? 200 : 401).end();
  });
}

/** A loopback port with nothing listening: connecting is refused at once. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function trafficConfig(authUrl: string, downPort: number): string {
  return configYaml(
    [
      '  - name: api',
      `    service: { url: "${authUrl}", path: /validateToken, timeout: 2s }`,
      '    cache: { ttl: 5m }',
      '  - name: open',
      `    service: { url: "http://127.0.0.1:${downPort}", timeout: 2s, mode: loose }`,
      '  - name: closed',
      `    service: { url: "http://127.0.0.1:${downPort}", timeout: 2s, mode: strict }`,
      '',
    ].join('\n'),
  );
}

export async function driveTraffic(client: CheckClient): Promise<void> {
  const to = (rule: string, token: string) =>
    checkRequest({ path: '/orders', headers: { authorization: `Bearer ${token}` }, contextExtensions: { rule } });
  // The second "good" is a cache hit.
  for (const req of [to('api', 'good'), to('api', 'good'), to('api', 'bad'), to('open', 'good'), to('closed', 'good')]) {
    await client.check(req);
  }
}

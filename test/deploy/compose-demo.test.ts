import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDocument } from 'yaml';
import { TestAdapter } from '../helpers/adapter';
import { checkRequest, deniedHeaders, okHeaders } from '../helpers/check-client';
import { readText, repoFile } from './deploy-files';

/**
 * The compose demo without Docker or Envoy: the real adapter on deploy/adapter.yaml, the real
 * example auth service and the real demo backend, on 127.0.0.1. Only the addresses change
 * (ephemeral ports instead of compose host names). Envoy's part is played by a grpc-js client
 * sending the CheckRequest Envoy would send for the gateway documentation's curl commands; docs/deploy.md's
 * expected output rests on these answers.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const authService = require(repoFile('scripts/example-auth-service.js')) as { start(port: number, host: string): Promise<http.Server> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const backend = require(repoFile('deploy/demo-backend.js')) as { start(port: number, host: string): Promise<http.Server> };

function origin(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** deploy/adapter.yaml with local ephemeral addresses and no drain delay. */
function localConfig(authOrigin: string): string {
  const doc = parseDocument(readText('deploy/adapter.yaml'));
  doc.setIn(['grpc', 'address'], '127.0.0.1:0');
  doc.setIn(['admin', 'address'], '127.0.0.1:0');
  doc.setIn(['shutdown', 'drainDelay'], '0s');
  const rules = doc.get('rules') as { items: unknown[] };
  rules.items.forEach((_, i) => doc.setIn(['rules', i, 'service', 'url'], authOrigin));
  return doc.toString();
}

const closeServer = (s: http.Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

describe('the compose demo, without Docker', () => {
  let auth: http.Server;
  let ratings: http.Server;
  let adapter: TestAdapter;

  beforeAll(async () => {
    auth = await authService.start(0, '127.0.0.1');
    ratings = await backend.start(0, '127.0.0.1');
    adapter = await TestAdapter.start(localConfig(origin(auth)));
  });

  afterAll(async () => {
    await adapter?.close();
    await Promise.all([auth, ratings].filter(Boolean).map(closeServer));
  });

  // The route for /ratings pins the rule, as deploy/envoy.yaml does.
  const pinned = { contextExtensions: { rule: 'ratings' } };

  it('allows /ratings/1 and tells the backend who the user is', async () => {
    const res = await adapter.client.check(checkRequest({ path: '/ratings/1', host: 'www.example.com', ...pinned }));
    expect(res.status?.code ?? 0).toBe(0);
    expect(okHeaders(res)).toMatchObject({ 'x-user-id': 'reviewer-1' });
  });

  it('denies /ratings/2 with the auth service status, headers and body', async () => {
    const res = await adapter.client.check(checkRequest({ path: '/ratings/2', host: 'www.example.com', ...pinned }));
    expect(res.status?.code).not.toBe(0);
    expect(res.denied_response?.status?.code).toBe(401);
    expect(deniedHeaders(res)).toEqual(
      expect.arrayContaining([
        ['x-server', 'pythonauth'],
        ['www-authenticate', 'Bearer realm="example"'],
      ]),
    );
    expect(JSON.parse(res.denied_response?.body ?? '')).toEqual({ error: 'not authorized', path: '/ratings/2' });
  });

  it('denies a route pinned to a rule the adapter does not have', async () => {
    const res = await adapter.client.check(checkRequest({ path: '/ratings/1', contextExtensions: { rule: 'no-such-rule' } }));
    expect(res.denied_response?.status?.code).toBe(403);
  });

  it('serves the example ratings JSON from the backend, echoing the vouched user', async () => {
    const res = await fetch(`${origin(ratings)}/ratings/1`, { headers: { 'x-user-id': 'reviewer-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-backend-saw-user')).toBe('reviewer-1');
    expect(await res.text()).toBe('{"id":1,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
    const missing = await fetch(`${origin(ratings)}/reviews/1`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
  });
});

import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { PythonAuthService } from './python-auth-service';

// Finding 3 of issue 12: a forwarded body must not carry a request into the pooled connection.
// The auth service is Python's BaseHTTPRequestHandler on HTTP/1.1, which never reads bodies.

const SMUGGLED = 'GET /validateToken/ratings/1 HTTP/1.1\r\nX-Ignore: ';

let adapter: TestAdapter | undefined;
afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
});

test('a body holding a request does not answer the next check: the body call closes its connection', async () => {
  const python = await PythonAuthService.start('ignores-body');
  try {
    // One connection, so the next check is sure to take the connection the body went over.
    adapter = await TestAdapter.start(
      configYaml(
        `  - name: r\n    service: { url: "${python.url}", path: /validateToken, connections: 1, timeout: 2s }\n` +
          '    request: { body: { enabled: true } }\n    response: { allowedHeaders: [x-user-id] }\n',
      ),
    );
    const post = await adapter.client.check(checkRequest({ method: 'POST', path: '/reviews', body: SMUGGLED }));
    expect(post.denied_response?.status?.code).toBe(401);

    const next = await adapter.client.check(checkRequest({ path: '/admin/delete-all' }));
    expect(next.ok_response).toBeUndefined();
    expect(next.denied_response?.status?.code).toBe(401);
    // The service saw each request once, as sent; the smuggled one was never parsed as a request.
    expect(python.handled).toEqual(['POST /validateToken/reviews', 'GET /validateToken/admin/delete-all']);
  } finally {
    await python.close();
  }
});

test('bodyless calls keep their pooled connection; a body call asks for its connection to close', async () => {
  const auth = await TestAuthService.start(reply(200));
  try {
    adapter = await TestAdapter.start(
      configYaml(`  - name: r\n    service: { url: "${auth.url}", connections: 1 }\n    request: { body: { enabled: true } }\n`),
    );
    await adapter.client.check(checkRequest());
    await adapter.client.check(checkRequest());
    await adapter.client.check(checkRequest({ method: 'POST', body: 'x=1' }));
    expect(auth.received.map((r) => r.headers.connection)).toEqual(['keep-alive', 'keep-alive', 'close']);
  } finally {
    await auth.close();
  }
});

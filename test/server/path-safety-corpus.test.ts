import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';

// Parser-differential variants ("Breaking Parser Logic", Orange Tsai, Black Hat 2018; Apache
// Shiro / Spring CVE-2020-1957 and relatives) through the real gRPC server, against a real auth
// service that records every call. Each variant names the backend behaviour that makes it
// dangerous. Outcomes:
//   skip:   OK without any call to the auth service;
//   auth:   the auth service is called once, with `sent` as its request target, and its 401 denies;
//   reject: denied as invalid (400) without a call: the path or host cannot be forwarded as it is.

type Outcome = { skip: true } | { auth: string } | { reject: true };
const SKIP: Outcome = { skip: true };
const REJECT: Outcome = { reject: true };
const auth = (sent: string): Outcome => ({ auth: sent });

interface Variant {
  readonly path: string;
  readonly host?: string;
  readonly outcome: Outcome;
  readonly backend: string;
}

// Whitelist: `/public/*` and the exact `/health` skip authentication.
const WHITELIST: Variant[] = [
  { path: '/public/logo.png', outcome: SKIP, backend: 'baseline: a listed public path skips authentication' },
  { path: '/public/a/b?x=../../admin', outcome: SKIP, backend: 'the query is never a path: no backend routes on it' },
  { path: '/health', outcome: SKIP, backend: 'baseline: an exact public path' },
  { path: '/public/./x', outcome: SKIP, backend: '"." resolves inside /public/ in every reading' },
  { path: '/public//x', outcome: SKIP, backend: 'nginx merges "//"; Express routes /public//x under /public/ too' },
  { path: '/public/%61bc', outcome: SKIP, backend: 'an encoded unreserved "a" is "a" to every backend' },
  { path: '/public/x#/../../admin', outcome: SKIP, backend: 'a fragment never reaches a backend' },
  { host: 'WWW.EXAMPLE.COM', path: '/public/x', outcome: SKIP, backend: 'host case: DNS names are case-insensitive everywhere' },
  { host: 'www.example.com.:8080', path: '/public/x', outcome: SKIP, backend: 'host with trailing dot and port is still a plain host' },
  { host: '[::1]:8443', path: '/public/x', outcome: SKIP, backend: 'an IPv6 literal with a port is a plain host' },
  { path: '/private', outcome: auth('/private'), backend: 'baseline: an unlisted path needs authentication' },
  { path: '/public', outcome: auth('/public'), backend: 'whitelist is exact: the /public index is not under /public/' },
  { path: '/PUBLIC/x', outcome: auth('/PUBLIC/x'), backend: 'case: a case-sensitive backend (nginx, Go) serves another resource' },
  { path: '/health/', outcome: auth('/health/'), backend: 'trailing slash: Spring 6 and Go serve /health/ as a different resource' },
  { path: '/public/../admin', outcome: auth('/admin'), backend: 'dot-segments: nginx, Go and Servlet resolve them to /admin' },
  { path: '/public/%2e%2e/admin', outcome: auth('/admin'), backend: 'encoded dots: Tomcat and nginx decode before resolving' },
  { path: '/public/%2E%2e/admin', outcome: auth('/admin'), backend: 'mixed-case encoded dots decode the same' },
  { path: '/public/.%2e/admin', outcome: auth('/admin'), backend: 'half-encoded ".."' },
  {
    path: '/public/../../admin',
    outcome: auth('/public/../../admin'),
    backend: '".." above the root: some backends clamp at "/", others reject',
  },
  {
    path: '/../public/x',
    outcome: auth('/../public/x'),
    backend: '".." above the root, then public: clamping backends serve /public/x, others do not',
  },
  { path: '//public/x', outcome: auth('/public/x'), backend: 'Express does not merge "//": //public/x can reach a catch-all handler' },
  {
    path: '/public/..;/admin',
    outcome: auth('/public/..;/admin'),
    backend: 'Servlet (Tomcat, Jetty, Undertow, Spring) strips ";" then resolves "..": /admin',
  },
  { path: '/public/..;x=1/admin', outcome: auth('/public/..;x=1/admin'), backend: 'Servlet strips ";x=1": /admin' },
  { path: '/public/%2e%2e;/admin', outcome: auth('/public/%2e%2e;/admin'), backend: 'Servlet strips ";", decodes %2e: /admin' },
  { path: '/public/x/..;/..;/admin', outcome: auth('/public/x/..;/..;/admin'), backend: 'chained "..;": Servlet resolves to /admin' },
  { path: '/public;x/logo.png', outcome: auth('/public;x/logo.png'), backend: 'Express routes "public;x" literally, not under /public/' },
  {
    path: '/public/..%3b/admin',
    outcome: auth('/public/..%3b/admin'),
    backend: 'encoded ";": a decoding proxy in front of Tomcat makes it "..;"',
  },
  { path: '/public/..%3B/admin', outcome: auth('/public/..%3B/admin'), backend: 'encoded ";" in uppercase' },
  {
    path: '/public/..%252fadmin',
    outcome: auth('/public/..%252fadmin'),
    backend: 'double encoding: a second decoding hop sees "../admin"',
  },
  {
    path: '/public/%252e%252e/admin',
    outcome: auth('/public/%252e%252e/admin'),
    backend: 'double-encoded dots: a second decoding resolves /admin',
  },
  { path: '/public/%25', outcome: auth('/public/%25'), backend: 'any encoded "%": what a second decoding reads is unknown' },
  {
    path: '/public/%2fadmin',
    outcome: auth('/public/%2fadmin'),
    backend: 'encoded "/": Tomcat ALLOW_ENCODED_SLASH and Go decode it, nginx splits on it',
  },
  {
    path: '/public/%2F..%2Fadmin',
    outcome: auth('/public/%2F..%2Fadmin'),
    backend: 'encoded "/" around "..": decoded, it climbs to /admin',
  },
  {
    path: '/public/%5c..%5cadmin',
    outcome: auth('/public/%5c..%5cadmin'),
    backend: 'encoded "\\": IIS and Windows backends read it as "/"',
  },
  { path: '/public/..\\admin', outcome: auth('/public/..\\admin'), backend: 'raw "\\": IIS and Undertow on Windows read it as "/"' },
  { path: '/public/%zz', outcome: auth('/public/%zz'), backend: 'a bad escape: backends reject or pass it differently' },
  { path: '/public/%00/../../admin', outcome: auth('/public/%00/../../admin'), backend: 'encoded NUL: C backends end the path there' },
  { path: 'public/x', outcome: REJECT, backend: 'no leading "/": backends resolve it against different bases' },
  { path: '/public/\u0000x', outcome: REJECT, backend: 'raw NUL: C backends end the path there' },
  { path: '/public/ x', outcome: REJECT, backend: 'a raw space splits the request line of an HTTP/1 backend' },
  {
    host: 'www.example.com%2f.evil',
    path: '/public/x',
    outcome: auth('/public/x'),
    backend: 'host with "%": a decoding virtual-host router reads another host',
  },
  {
    host: 'www.example.com /admin',
    path: '/public/x',
    outcome: auth('/public/x'),
    backend: 'host with a space: log and vhost parsers split it',
  },
  { host: 'www.example.com:80:80', path: '/public/x', outcome: auth('/public/x'), backend: 'host with two ports: parsers take either' },
  {
    host: 'www.example.com\u0001',
    path: '/public/x',
    outcome: REJECT,
    backend: 'host with a control character: parsers stop or skip there',
  },
  {
    host: 'www.example.com\r\nx-user-id: admin',
    path: '/public/x',
    outcome: REJECT,
    backend: 'CRLF in the host would inject a header into the auth request',
  },
  {
    host: '',
    path: '/public/x',
    outcome: auth('/public/x'),
    backend: 'no host: the backend picks its default virtual host, perhaps a protected one',
  },
];

// Blacklist: `/admin/*`, the exact `/api/private` and the domain admin.example.com need authentication.
const BLACKLIST: Variant[] = [
  { path: '/shop', outcome: SKIP, backend: 'baseline: an unlisted path stays open' },
  { path: '/shop/cart?next=/admin', outcome: SKIP, backend: 'the query is never a path' },
  { path: '/administrator', outcome: SKIP, backend: 'another resource: no backend routes it to /admin' },
  { path: '/api/privatex', outcome: SKIP, backend: 'another resource, not a near miss' },
  { path: '/api/private/x', outcome: SKIP, backend: 'an exact entry does not cover paths below it' },
  { path: '/public/admin/x', outcome: SKIP, backend: 'admin as a later segment is another resource' },
  { host: 'shop.example.com', path: '/x', outcome: SKIP, backend: 'baseline: another domain stays open' },
  { path: '/admin/users', outcome: auth('/admin/users'), backend: 'baseline: a listed path' },
  {
    path: '/admin',
    outcome: auth('/admin'),
    backend: 'near miss: `/admin/*` covers the admin index page every framework serves at /admin',
  },
  { path: '/admin/', outcome: auth('/admin/'), backend: 'the prefix itself' },
  { path: '/Admin/x', outcome: auth('/Admin/x'), backend: 'case: Express and IIS route case-insensitively' },
  { path: '/ADMIN/x', outcome: auth('/ADMIN/x'), backend: 'case: Express and IIS route case-insensitively' },
  { path: '/ADMIN', outcome: auth('/ADMIN'), backend: 'case and near miss together' },
  { path: '/api/private', outcome: auth('/api/private'), backend: 'baseline: an exact listed path' },
  {
    path: '/api/private/',
    outcome: auth('/api/private/'),
    backend: 'trailing slash: Express (non-strict) and Spring MVC (before 6.0) serve /api/private',
  },
  { path: '/API/Private', outcome: auth('/API/Private'), backend: 'case: Express and IIS' },
  { path: '/api/private//', outcome: auth('/api/private/'), backend: '"//" merged by nginx, then a trailing slash' },
  { path: '/admin;x=1/secret', outcome: auth('/admin;x=1/secret'), backend: 'Servlet strips ";x=1": /admin/secret' },
  { path: '/api/private;x', outcome: auth('/api/private;x'), backend: 'Servlet strips ";x": /api/private' },
  { path: '/admin%3bx/secret', outcome: auth('/admin%3bx/secret'), backend: 'encoded ";": a decoding proxy in front of Tomcat' },
  { path: '/shop;jsessionid=1', outcome: auth('/shop;jsessionid=1'), backend: 'the cost of the choice: any ";" needs authentication' },
  { path: '/shop/../admin/x', outcome: auth('/admin/x'), backend: 'dot-segments: nginx, Go and Servlet serve /admin/x' },
  { path: '/admin/../shop', outcome: auth('/shop'), backend: 'Express does not resolve dots: its /admin/* handler serves /admin/../shop' },
  { path: '/admin/%2e%2e/shop', outcome: auth('/shop'), backend: 'Express routes the encoded dots literally under /admin/' },
  { path: '/shop/%2e%2e/admin/x', outcome: auth('/admin/x'), backend: 'encoded dots: Tomcat and nginx decode before resolving' },
  { path: '//admin//x', outcome: auth('/admin/x'), backend: 'nginx merges "//": /admin/x' },
  { path: '/%61dmin/x', outcome: auth('/admin/x'), backend: 'encoded unreserved "a": nginx, Go and Tomcat decode it' },
  { path: '/%41DMIN/x', outcome: auth('/ADMIN/x'), backend: 'encoded and upper case: decoded by nginx, case-folded by Express' },
  { path: '/shop/%2fadmin', outcome: auth('/shop/%2fadmin'), backend: 'encoded "/": Go decodes it, nginx splits on it' },
  { path: '/admin%2fx', outcome: auth('/admin%2fx'), backend: 'encoded "/": decoded, it is /admin/x' },
  { path: '/shop/%5cadmin', outcome: auth('/shop/%5cadmin'), backend: 'encoded "\\": IIS reads "/"' },
  { path: '/shop/..%252fadmin', outcome: auth('/shop/..%252fadmin'), backend: 'double encoding: a second decoding hop sees "../admin"' },
  { path: '/%2561dmin/x', outcome: auth('/%2561dmin/x'), backend: 'double-encoded "a": a second decoding gives /admin/x' },
  { path: '/shop/..\\admin', outcome: auth('/shop/..\\admin'), backend: 'raw "\\": IIS reads "/"' },
  { path: '/../admin/x', outcome: auth('/../admin/x'), backend: '".." above the root: clamping backends serve /admin/x' },
  { path: '/shop/%zz', outcome: auth('/shop/%zz'), backend: 'a bad escape: backends disagree on it' },
  { host: 'admin.example.com', path: '/shop', outcome: auth('/shop'), backend: 'baseline: a listed domain' },
  { host: 'ADMIN.example.com', path: '/shop', outcome: auth('/shop'), backend: 'host case: DNS is case-insensitive' },
  { host: 'admin.example.com.', path: '/shop', outcome: auth('/shop'), backend: 'trailing dot: the same DNS name' },
  { host: 'admin.example.com:8443', path: '/shop', outcome: auth('/shop'), backend: 'a port does not change the virtual host' },
  { host: 'admin.example.com.:443', path: '/shop', outcome: auth('/shop'), backend: 'trailing dot and port' },
  {
    host: 'admin%2eexample.com',
    path: '/shop',
    outcome: auth('/shop'),
    backend: 'host with "%": a decoding vhost router reads admin.example.com',
  },
  { host: 'admin.example.com evil.example', path: '/shop', outcome: auth('/shop'), backend: 'host with a space: parsers take either half' },
  { host: 'admin.example.com\t', path: '/shop', outcome: auth('/shop'), backend: 'host with a tab: trimmed by some parsers' },
  { host: 'admin.example.com\u0000.evil', path: '/shop', outcome: REJECT, backend: 'NUL in the host: C parsers stop at it' },
  { host: 'admin.example.com:x', path: '/shop', outcome: auth('/shop'), backend: 'a port that is not a number: parsers drop or keep it' },
];

let authService: TestAuthService;
let adapter: TestAdapter;

beforeAll(async () => {
  authService = await TestAuthService.start(reply(401, {}, 'who are you'));
  const service = `service: { url: "${authService.url}" }`;
  adapter = await TestAdapter.start(
    configYaml(`  - name: wl
    ${service}
    match:
      mode: whitelist
      conditions: [{ path: /public/* }, { path: /health }]
  - name: bl
    ${service}
    match:
      mode: blacklist
      conditions: [{ path: /admin/* }, { path: /api/private }, { domain: admin.example.com }]
`),
  );
});

afterAll(async () => {
  await adapter.close();
  await authService.close();
});

async function expectOutcome(rule: string, v: Variant): Promise<void> {
  const before = authService.received.length;
  const res = await adapter.client.check(checkRequest({ path: v.path, host: v.host ?? 'www.example.com', contextExtensions: { rule } }));
  const calls = authService.received.slice(before).map((r) => r.url);
  if ('skip' in v.outcome) {
    expect({ code: res.status?.code ?? 0, calls }).toEqual({ code: 0, calls: [] });
  } else if ('auth' in v.outcome) {
    expect({ status: res.denied_response?.status?.code, body: res.denied_response?.body, calls }).toEqual({
      status: 401,
      body: 'who are you',
      calls: [v.outcome.auth],
    });
  } else {
    expect({ status: res.denied_response?.status?.code, calls }).toEqual({ status: 400, calls: [] });
  }
}

test('the corpus holds at least 60 variants, each naming the backend behaviour at stake', () => {
  expect(WHITELIST.length + BLACKLIST.length).toBeGreaterThanOrEqual(60);
  for (const v of [...WHITELIST, ...BLACKLIST]) expect(v.backend.length).toBeGreaterThan(10);
});

describe.each([
  ['whitelist', 'wl', WHITELIST],
  ['blacklist', 'bl', BLACKLIST],
])('%s', (_mode, rule, variants) => {
  test.each(variants.map((v) => [JSON.stringify(v.host ?? 'www.example.com'), JSON.stringify(v.path), v.backend, v] as const))(
    'host %s path %s (%s)',
    async (_host, _path, _backend, v) => {
      await expectOutcome(rule, v);
    },
  );
});

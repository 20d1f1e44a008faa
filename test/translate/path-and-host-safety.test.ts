import { readCheckRequest, type CheckView } from '../../src/translate';
import { hostProblem } from '../../src/translate/host-problem';
import { normalizePath } from '../../src/translate/normalize-path';

describe('normalizePath: where backends could read a path differently, it is unsafe', () => {
  test.each([
    ['/public/..;/admin', /it holds ";": Servlet containers strip/],
    ['/admin;x=1/secret', /it holds ";"/],
    ['/api/private;x', /it holds ";"/],
    ['/public/..%3b/admin', /%3B, an encoded ";"/],
    ['/public/..%3B/admin', /%3B, an encoded ";"/],
    ['/public/..%252fadmin', /%25, an encoded "%"/],
    ['/public/%25', /%25, an encoded "%"/],
    ['/public/%2', /"%2" is not a valid escape/],
    ['/public/%', /"%" is not a valid escape/],
    ['/public/%2fadmin', /%2F, an encoded "\/"/],
    ['/../admin', /climbs above/],
    ['admin', /does not start with/],
  ])('%s', (raw, reason) => {
    const n = normalizePath(raw);
    expect(n).toMatchObject({ path: raw, safe: false });
    expect(n.unsafeReason).toMatch(reason);
  });

  test('a ";" in the query is no path parameter', () => {
    expect(normalizePath('/public/x?a=1;b=2')).toEqual({ path: '/public/x', query: 'a=1;b=2', safe: true });
  });
});

describe('hostProblem: only DNS names and IP literals, with an optional port, are plain hosts', () => {
  test.each([
    'www.example.com',
    'WWW.Example.COM',
    'www.example.com.',
    'www.example.com:8443',
    'www.example.com.:443',
    '10.0.0.1:80',
    '[::1]',
    '[::1]:8443',
    'my_host',
    'localhost',
  ])('plain: %s', (host) => expect(hostProblem(host)).toBeUndefined());

  test.each([
    ['', /empty/],
    ['admin%2eexample.com', /neither a DNS name/],
    ['www.example.com /admin', /neither a DNS name/],
    ['www.example.com\t', /neither a DNS name/],
    ['www.example.com\u0000', /neither a DNS name/],
    ['www.example.com:80:80', /neither a DNS name/],
    ['www.example.com:', /port that is not/],
    ['www.example.com:x', /port that is not/],
    ['a..b', /neither a DNS name/],
    ['[fe80::1%25eth0]', /neither a DNS name/],
    ['user@www.example.com', /neither a DNS name/],
    ['www.exämple.com', /neither a DNS name/],
  ])('not plain: %j', (host, reason) => expect(hostProblem(host)).toMatch(reason));
});

function view(path: string, host = 'www.example.com'): CheckView {
  const v = readCheckRequest({ attributes: { request: { http: { method: 'GET', host, path } } } });
  if ('invalid' in v) throw new Error(v.invalid);
  return v;
}

describe('readCheckRequest: the readings a rule sees', () => {
  test('an already normal path has one reading', () => {
    expect(view('/public/x?a=../b').input.literal).toBeUndefined();
    expect(view('/public/x#f').input.literal).toBeUndefined();
  });

  test('a path that is not its own normal form also carries the path as sent', () => {
    const { input } = view('/admin/../shop?x=1');
    expect(input).toMatchObject({ pathOnly: '/shop', path: '/shop?x=1', pathSafe: true });
    expect(input.literal).toMatchObject({ pathOnly: '/admin/../shop', path: '/admin/../shop?x=1', literal: undefined });
  });

  test('an unsafe path has no second reading: it needs authentication anyway', () => {
    const { input } = view('/public/..;/admin');
    expect(input).toMatchObject({ pathSafe: false, literal: undefined });
    expect(input.unsafeReason).toMatch(/^path could not be normalized safely: it holds ";"/);
  });

  test('a host that is not plain makes the request unsafe, with the reason', () => {
    const { input } = view('/public/x', 'www.example.com%2f');
    expect(input).toMatchObject({ pathSafe: true, hostSafe: false });
    expect(input.unsafeReason).toMatch(/^host is not a plain host: the host "www.example.com%2f" is neither/);
    expect(view('/public/x').input).toMatchObject({ hostSafe: true, unsafeReason: '' });
  });
});

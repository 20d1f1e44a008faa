import { checkRule, compileOk, loadFixture, makeInput } from './helpers';

// The gateway documentation's "Complex condition authorization examples", loaded verbatim from YAML, with
// every outcome it lists (plus the obvious neighbours).

describe('gateway documentation example: matching domain names with regex', () => {
  const rule = compileOk(loadFixture('gateway-example-a.yaml'));

  test.each([
    ['exampleA.com', '/', true],
    ['exampleA.com', '/order?id=1', true],
    ['exampleB.com', '/api/x', true],
    // The documentation: "A request to test.exampleA.com does not match" (regex must match the whole value).
    ['test.exampleA.com', '/', false],
    ['exampleA.com.evil.net', '/', false],
    ['exampleC.com', '/', false],
    ['exampleAxcom', '/', false],
    // :authority as sent: with a port the whole-value regex no longer matches, as in Envoy.
    ['exampleA.com:8080', '/', false],
  ])('%s%s needs auth: %s', (host, path, needsAuth) => {
    checkRule(rule, needsAuth, makeInput({ host, path }));
  });
});

describe('gateway documentation example: combining AND, OR and NOT', () => {
  const rule = compileOk(loadFixture('gateway-example-b.yaml'));

  test.each([
    // exampleA.com/api/* needs auth, except /api/appa/bbb and /api/appb/ccc.
    ['exampleA.com', '/api/order', true],
    ['exampleA.com', '/api/appa/bbb', false],
    ['exampleA.com', '/api/appb/ccc', false],
    ['exampleA.com', '/api/appa/bbb/x', true],
    ['exampleA.com', '/api/appc/x', true],
    ['exampleA.com', '/other', false],
    ['exampleA.com', '/api', false],
    // Everything under exampleB.com, except /api/appa/bbb, /api/appb/ccc and /api/appc/*,
    // which in turn has /api/appc/bbb/ccc and /api/appc/ccc/ddd back.
    ['exampleB.com', '/', true],
    ['exampleB.com', '/anything/else', true],
    ['exampleB.com', '/api/appa/bbb', false],
    ['exampleB.com', '/api/appb/ccc', false],
    ['exampleB.com', '/api/appc/', false],
    ['exampleB.com', '/api/appc/xyz', false],
    ['exampleB.com', '/api/appc/bbb/ccc', true],
    ['exampleB.com', '/api/appc/ccc/ddd', true],
    ['exampleB.com', '/api/appc/ccc/ddd?x=1', true],
    ['exampleB.com', '/api/appc', true],
    // Other hosts pass; the header match is exact and case-sensitive, as in Envoy.
    ['exampleC.com', '/api/order', false],
    ['test.exampleB.com', '/', false],
    ['EXAMPLEB.COM', '/', false],
  ])('%s%s needs auth: %s', (host, path, needsAuth) => {
    checkRule(rule, needsAuth, makeInput({ host, path }));
  });

  test('the path is normalized before matching: a detour through ".." cannot reach an exception', () => {
    checkRule(rule, false, makeInput({ host: 'exampleB.com', path: '/api/appc/x/../y' }));
    checkRule(rule, true, makeInput({ host: 'exampleB.com', path: '/api/appc/../admin' }));
    checkRule(rule, true, makeInput({ host: 'exampleB.com', path: '/api/appc/%2e%2e/admin' }));
  });

  test('explain names the deciding branch', () => {
    const e = rule.explain(makeInput({ host: 'exampleB.com', path: '/api/appc/bbb/ccc' }));
    expect(e.needsAuth).toBe(true);
    expect(e.trace).toEqual([
      'rules[0].match.permissions',
      'rules[0].match.permissions[0]',
      'rules[0].match.permissions[0].or_rules.rules[0]',
    ]);
    const skip = rule.explain(makeInput({ host: 'exampleA.com', path: '/api/appa/bbb' }));
    expect(skip.needsAuth).toBe(false);
    // No match: every branch is listed with the leaf that failed it.
    const p = 'rules[0].match.permissions[0].or_rules.rules';
    expect(skip.trace).toEqual([
      'rules[0].match.permissions',
      'rules[0].match.permissions[0]',
      `${p}[0]`,
      `${p}[0].and_rules.rules[0].url_path`,
      `${p}[1]`,
      `${p}[1].and_rules.rules[0].url_path`,
      `${p}[2]`,
      `${p}[2].and_rules.rules[1]`,
      `${p}[2].and_rules.rules[1].not_rule.url_path`,
      `${p}[3]`,
      `${p}[3].and_rules.rules[1]`,
      `${p}[3].and_rules.rules[1].not_rule.url_path`,
    ]);
    expect(skip.reason).toMatch(/no permission matched/);
  });
});

import { explainRules, explanationsToJson, formatExplanations } from '../../src/matcher';
import { compileOk, loadFixture, makeInput } from './helpers';

describe('explain', () => {
  const rules = [
    { name: 'example-b', enabled: true, matcher: compileOk(loadFixture('gateway-example-b.yaml')) },
    { name: 'public', enabled: true, matcher: compileOk({ mode: 'whitelist', conditions: [{ path: '/api/appc/*' }] }) },
    { name: 'off', enabled: false, matcher: compileOk({ mode: 'all' }) },
  ];

  test('gives one verdict per rule with the deciding branch', () => {
    const input = makeInput({ host: 'exampleB.com', path: '/api/appc/bbb/ccc' });
    const list = explainRules(rules, input);
    expect(list.map((e) => [e.rule, e.enabled, e.needsAuth])).toEqual([
      ['example-b', true, true],
      ['public', true, false],
      ['off', false, false],
    ]);
    expect(list[0].trace[list[0].trace.length - 1]).toBe('rules[0].match.permissions[0].or_rules.rules[0]');
    expect(list[0].reason).toBe(
      'complex: permission matched at rules[0].match.permissions[0].or_rules.rules[0] (and_rules); authentication required',
    );
    expect(list[2].reason).toMatch(/^rule disabled \(enabled: false\), so it never authenticates; enabled, it would need/);
  });

  test('the text form names the request, each verdict, reason and trace', () => {
    const input = makeInput({ host: 'exampleA.com', path: '/api/appa/bbb?x=1' });
    const text = formatExplanations(explainRules(rules, input), input);
    const lines = text.split('\n');
    expect(lines[0]).toBe('request: GET exampleA.com /api/appa/bbb?x=1');
    expect(lines).toContain('rule "example-b": no authentication');
    expect(lines).toContain('rule "public": NEEDS AUTHENTICATION');
    expect(lines).toContain('rule "off": disabled');
    expect(lines).toContain(
      '    yes rules[0].match.permissions[0].or_rules.rules[2].and_rules.rules[1].not_rule.url_path: url_path exact "/api/appa/bbb"',
    );
    expect(lines).toContain('    no  rules[0].match.permissions[0].or_rules.rules[2].and_rules.rules[1]: not_rule');
    expect(lines).toContain('    no  rules[0].match.conditions[0].path: path prefix "/api/appc/"');
  });

  test('an unsafe path is called out', () => {
    const input = makeInput({ host: 'exampleA.com', path: '/public/%2fadmin' });
    const list = explainRules(rules, input);
    expect(list.filter((e) => e.enabled).every((e) => e.needsAuth)).toBe(true);
    expect(formatExplanations(list, input)).toMatch(/path unsafe: always authenticated/);
  });

  test('the JSON form round-trips', () => {
    const input = makeInput({ host: 'exampleB.com', path: '/x' });
    const list = explainRules(rules, input);
    const parsed = JSON.parse(explanationsToJson(list, input)) as { request: unknown; rules: unknown };
    expect(parsed.request).toEqual({
      method: 'GET',
      host: 'exampleB.com',
      path: '/x',
      pathOnly: '/x',
      pathSafe: true,
      hostSafe: true,
      unsafeReason: '',
    });
    expect(parsed.rules).toEqual(list);
  });
});

import { ConfigError, closestName } from '../../src/config';
import { compileConfig } from '../../src/server/check/compile-config';

describe('closestName', () => {
  test.each([
    ['exact_macth', ['name', 'exact_match', 'prefix_match'], 'exact_match'],
    ['exactMatch', ['name', 'exact_match', 'prefix_match'], 'exact_match'],
    ['timeot', ['url', 'path', 'timeout', 'mode'], 'timeout'],
    ['Timeout', ['url', 'path', 'timeout', 'mode'], 'timeout'],
    ['logs', ['grpc', 'admin', 'log'], 'log'],
    ['colour', ['name', 'op', 'value'], undefined],
    ['x', ['url', 'path'], undefined],
  ])('%s among %j is %s', (word, candidates, expected) => {
    expect(closestName(word, candidates)).toBe(expected);
  });
});

async function issuesOf(text: string): Promise<string[]> {
  const err = await compileConfig(text, 'c.yaml').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('an unknown config key', () => {
  test.each([
    ['a settings key', '    service: { url: "http://a:1", timeot: 1s }\n', 'rules[0].service.timeot', '`timeout`'],
    [
      'a HeaderMatcher key in a Permission',
      '    service: { url: "http://a:1" }\n    match: { mode: complex, permissions: [{ header: { name: x, exact_macth: a } }] }\n',
      'rules[0].match.permissions[0].header.exact_macth',
      '`exact_match`',
    ],
    [
      'a Permission rule',
      '    service: { url: "http://a:1" }\n    match: { mode: complex, permissions: [{ url_pth: { path: { exact: /a } } }] }\n',
      'rules[0].match.permissions[0].url_pth',
      '`url_path`',
    ],
  ])('%s suggests the nearest valid one', async (_name, rule, path, suggestion) => {
    const issues = await issuesOf(`rules:\n  - name: a\n${rule}`);
    expect(issues).toEqual([expect.stringMatching(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: .*; did you mean ${suggestion}\\?$`))]);
  });

  test('without a near name, lists the valid keys and guesses nothing', async () => {
    const issues = await issuesOf('rules:\n  - name: a\n    service: { url: "http://a:1", colour: red }\n');
    expect(issues).toEqual([expect.stringContaining('rules[0].service.colour: unknown key; expected one of: url, path')]);
    expect(issues[0]).not.toContain('did you mean');
  });
});

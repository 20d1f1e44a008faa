import { Issues } from '../../src/config';
import { compileHeaderNameMatchers } from '../../src/matcher';

// request.allowedHeaders matchers on header names: the matcher's own StringMatchers, with each
// name's result remembered up to a bound, and still right past it.

function filter(...matchers: unknown[]) {
  const issues = new Issues();
  const f = compileHeaderNameMatchers(
    matchers.map((matcher, i) => ({ path: `allowedHeaders[${i}]`, matcher })),
    issues,
  );
  expect(issues.list).toEqual([]);
  return f;
}

test.each<[unknown, string, boolean]>([
  [{ prefix: 'x-tenant-' }, 'x-tenant-id', true],
  [{ prefix: 'x-tenant-' }, 'x-tenant', false],
  [{ suffix: '-region' }, 'x-eu-region', true],
  [{ contains: 'trace' }, 'x-my-trace-id', true],
  [{ exact: 'X-Case', ignore_case: true }, 'x-case', true],
  [{ exact: 'x-case' }, 'x-case-2', false],
  [{ safe_regex: { regex: 'x-custom-[a-z]+' } }, 'x-custom-ab', true],
  [{ safe_regex: { regex: 'x-custom-[a-z]+' } }, 'x-custom-ab1', false],
])('%j on %s is %s, the first time and when remembered', (matcher, name, expected) => {
  const f = filter(matcher);
  expect(f.matches(name)).toBe(expected);
  expect(f.matches(name)).toBe(expected);
});

test('past the bound on remembered names, every name is still matched', () => {
  const f = filter({ safe_regex: { regex: 'x-[0-9]+' } });
  for (let i = 0; i < 3000; i++) {
    expect(f.matches(`x-${i}`)).toBe(true);
    expect(f.matches(`y-${i}`)).toBe(false);
  }
});

test('an invalid regex is reported with its key path', () => {
  const issues = new Issues();
  compileHeaderNameMatchers([{ path: 'rules[0].request.allowedHeaders[3]', matcher: { safe_regex: { regex: 'x-(' } } }], issues);
  expect(issues.list.map((i) => i.path)).toEqual(['rules[0].request.allowedHeaders[3].safe_regex.regex']);
});

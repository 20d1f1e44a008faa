import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Issues, parseConfigText } from '../../src/config';
import { compileHeaderNameMatchers, compileMatch } from '../../src/matcher';

// Every config on docs/envoy-parity.md loads as written, so a reader can copy any of them.

const PAGE = readFileSync(join(__dirname, '..', '..', 'docs', 'envoy-parity.md'), 'utf8');
const CONFIGS = [...PAGE.matchAll(/```yaml\n(rules:\n[\s\S]*?)```/g)].map((m) => m[1]!);

test('the page has a config for each feature', () => {
  expect(CONFIGS.length).toBeGreaterThanOrEqual(8);
});

test.each(CONFIGS.map((c) => [c.split('\n')[1]!.trim(), c]))('%s loads without an issue', (_name, yaml) => {
  const issues = new Issues();
  const settings = parseConfigText(yaml, issues, { AUTH_API_KEY: 'from-the-environment' });
  for (const rule of settings?.rules ?? []) {
    compileMatch(rule.match, issues);
    compileHeaderNameMatchers(rule.request.allowedHeaderMatchers, issues);
  }
  expect(issues.list).toEqual([]);
});

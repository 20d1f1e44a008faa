import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Issues } from '../../src/config';
import { parseConfigText } from '../../src/config';
import { compileMatch } from '../../src/matcher';

// The front page stays a front page, every link in the docs lands somewhere, and the config a new
// user copies from the README loads. Real files, read as a reader would.

const ROOT = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  'CHANGELOG.md',
  'ARCHITECTURE.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Text outside fenced code blocks: links and headings there are examples, not the page's own. */
function prose(markdown: string): string {
  return markdown
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 0)
    .join('\n');
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const headings = [...prose(read(file)).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!));
  return new Set(headings);
}

describe('docs', () => {
  it('keeps the README a front page of at most 300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(300);
  });

  it('puts the reference in docs/, one page per subject', () => {
    for (const page of ['configuration', 'conditions', 'deploy', 'operations', 'performance', 'reliability']) {
      expect(existsSync(join(ROOT, 'docs', `${page}.md`))).toBe(true);
    }
    expect(read('LICENSE')).toContain('Apache License\n                           Version 2.0, January 2004');
  });

  const links = PAGES.flatMap((page) =>
    [...prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .map((target): [string, string] => [page, target]),
  );

  it('finds relative links to check', () => {
    expect(links.length).toBeGreaterThan(20);
  });

  it.each(links)('%s links to %s, which exists', (page, target) => {
    const [file, anchor] = target.split('#') as [string, string | undefined];
    const resolved = file === '' ? page : relative(ROOT, join(ROOT, dirname(page), file));
    expect(existsSync(join(ROOT, resolved))).toBe(true);
    if (anchor !== undefined && resolved.endsWith('.md')) expect([...anchors(resolved)]).toContain(anchor);
  });

  it("loads the README's minimal config without an issue", () => {
    const yaml = /## A minimal config\n\n```yaml\n([\s\S]*?)```/.exec(read('README.md'))?.[1];
    expect(yaml).toBeDefined();
    const issues = new Issues();
    const settings = parseConfigText(yaml!, issues);
    for (const rule of settings?.rules ?? []) compileMatch(rule.match, issues);
    expect(issues.list).toEqual([]);
    expect(settings?.rules.map((r) => r.name)).toEqual(['orders']);
  });
});

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { decodeYaml } from '../helpers/config-schema';

/**
 * Every config written down in the repository: the shipped files, the YAML blocks of the docs, and
 * the config text of the tests, found by reading their source. A test that writes a new config
 * adds to this corpus without anyone listing it.
 */
export interface CorpusEntry {
  /** Where it was found: `file` or `file:line`. */
  readonly source: string;
  readonly value: unknown;
}

const ROOT = path.resolve(__dirname, '../..');
const RULE_KEYS = new Set(['name', 'enabled', 'dryRun', 'service', 'request', 'response', 'match', 'cache', 'coalesce']);
/** Stands in for `${...}` in a test's template literal; only where a service URL goes can we say what it held. */
const SUBSTITUTION = '\u0000sub\u0000';
const TEST_URL = 'http://127.0.0.1:1';

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(dir: string, ext: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(rel, ext);
      return e.name.endsWith(ext) ? [rel] : [];
    });
}

/**
 * A whole config, or a piece of one made whole: a rule fragment (`match: ...`, as in the docs
 * and the gateway fixtures) becomes the one rule of a config, a list of rules becomes `rules`.
 */
function asConfig(value: unknown): unknown {
  if (isMapping(value) && 'rules' in value) return value;
  if (isMapping(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => RULE_KEYS.has(k))) {
    return { rules: [{ name: 'fragment', service: { url: TEST_URL }, ...value }] };
  }
  if (Array.isArray(value) && value.length > 0 && value.every((r) => isMapping(r) && 'name' in r && 'service' in r)) {
    return { rules: value };
  }
  return undefined;
}

function fromText(text: string, source: string): CorpusEntry[] {
  const value = asConfig(decodeYaml(text));
  return value === undefined ? [] : [{ source, value }];
}

/** The config files that ship, the one inside the Kubernetes ConfigMap included. */
export function shippedConfigs(): CorpusEntry[] {
  const files = [...walk('config', '.yaml'), 'deploy/adapter.yaml'];
  const entries = files.flatMap((f) => fromText(readFileSync(path.join(ROOT, f), 'utf8'), f));
  const configMap = parseYaml(readFileSync(path.join(ROOT, 'deploy/kubernetes/configmap.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  entries.push(...fromText(configMap.data['config.yaml'], 'deploy/kubernetes/configmap.yaml data.config.yaml'));
  return entries;
}

/** ```yaml blocks of README.md and docs/ that are configs or pieces of one. */
export function docConfigs(): CorpusEntry[] {
  return ['README.md', ...walk('docs', '.md')].flatMap((file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const out: CorpusEntry[] = [];
    for (const m of text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)) {
      const line = text.slice(0, m.index).split('\n').length;
      out.push(...fromText(m[1], `${file}:${line}`));
    }
    return out;
  });
}

/** YAML files under test/ (fixtures) that are configs or pieces of one. */
export function fixtureConfigs(): CorpusEntry[] {
  return walk('test', '.yaml').flatMap((f) => fromText(readFileSync(path.join(ROOT, f), 'utf8'), f));
}

/**
 * String and template literals of the test sources that are config text. A template's
 * substitutions are filled in only in `url: "${...}"`; any other substitution leaves the value
 * unknown, and the literal is skipped.
 */
export function testSourceConfigs(): CorpusEntry[] {
  return walk('test', '.ts').flatMap((file) => {
    const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const out: CorpusEntry[] = [];
    const visit = (node: ts.Node): void => {
      let text: string | undefined;
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) text = node.text;
      else if (ts.isTemplateExpression(node)) {
        text = node.head.text + node.templateSpans.map((s) => SUBSTITUTION + s.literal.text).join('');
        text = text.replace(new RegExp(`(url: ")${SUBSTITUTION}(")`, 'g'), `$1${TEST_URL}$2`);
        if (text.includes(SUBSTITUTION)) text = undefined;
      }
      if (text !== undefined && /\b(rules|service|match):/.test(text)) {
        out.push(...fromText(text, `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return out;
  });
}

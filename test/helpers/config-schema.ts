import { readFileSync } from 'node:fs';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parseDocument } from 'yaml';
import { CONFIG_SCHEMA_FILE, Issues, keyPath, parseConfigValue, type ConfigIssue, type Environment } from '../../src/config';
import { compileHeaderNameMatchers, compileMatch } from '../../src/matcher';

export const CONFIG_SCHEMA = JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;

// strictTypes off: `if` branches name a property's pattern without repeating its type.
const ajv = new Ajv2020({ allErrors: true, strictTypes: false });
addFormats(ajv);
const validate = ajv.compile(CONFIG_SCHEMA);

/** The document as the parser sees it (same YAML options), or undefined when the parser would not get that far. */
export function decodeYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    return undefined;
  }
}

/** `/rules/0/service` → `rules[0].service`, the parser's way of naming a place. */
function pointerToKeyPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((path, part) => keyPath(path, /^\d+$/.test(part) ? Number(part) : part), '');
}

export interface SchemaError {
  /** Where the schema says the problem is, in the parser's notation. */
  readonly path: string;
  readonly message: string;
}

function locate(e: ErrorObject): SchemaError {
  const at = pointerToKeyPath(e.instancePath);
  const params = e.params as { additionalProperty?: string; missingProperty?: string; property?: string };
  // dependentRequired blames the key that is there (pathMatch), not the one it needs (path), as the parser does.
  const key = e.keyword === 'dependentRequired' ? params.property : (params.additionalProperty ?? params.missingProperty);
  return { path: key === undefined ? at : keyPath(at, key), message: `${e.message ?? e.keyword}` };
}

/** Every problem the JSON Schema finds; [] when the document is valid. */
export function schemaErrors(value: unknown): SchemaError[] {
  return validate(value) ? [] : (validate.errors ?? []).map(locate);
}

/**
 * Every problem `validate` would report short of reading files: the settings, then each rule's
 * match block (conditions, RBAC permissions), as the loader compiles them.
 */
/** Every `${NAME}` a config refers to is set: the schema cannot know the environment, so neither does this side. */
const ANY_ENVIRONMENT: Environment = new Proxy({}, { get: () => 'set' });

export function parserIssues(value: unknown): ConfigIssue[] {
  const issues = new Issues();
  const settings = parseConfigValue(value, issues, ANY_ENVIRONMENT);
  for (const rule of settings?.rules ?? []) {
    compileMatch(rule.match, issues);
    compileHeaderNameMatchers(rule.request.allowedHeaderMatchers, issues);
  }
  return issues.list;
}

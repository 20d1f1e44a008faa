import { redactUrls } from './redact-url';

/** One problem in a config document, located by its key path (`rules[0].service.timeout`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Collects every problem in one pass, so `validate` can list them all instead of stopping at the first. */
export class Issues {
  readonly list: ConfigIssue[] = [];
  /** Problems that do not stop a config from loading: `validate` lists them, the config still serves. */
  readonly warnings: ConfigIssue[] = [];

  /** Messages may quote the value at fault; a URL's credentials never get that far. */
  add(path: string, message: string): void {
    this.list.push({ path, message: redactUrls(message) });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}

/** Thrown when a config file cannot be loaded; `issues` holds every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(source, issues));
    this.name = 'ConfigError';
  }
}

export function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`);
  return `invalid config ${source}:\n${lines.join('\n')}`;
}

/** Joins key paths the way users read them: `rules[0].match`, `match.permissions[2]`. */
export function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

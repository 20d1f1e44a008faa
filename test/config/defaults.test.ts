import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS, formatDuration } from '../../src/config';

const ROOT = path.join(__dirname, '..', '..');

/** Where each default is documented, by its key in the configuration tables. */
const DOCUMENTED_AS: Record<keyof typeof DEFAULTS, string> = {
  grpcAddress: 'grpc.address',
  adminAddress: 'admin.address',
  exposeConfig: 'admin.exposeConfig',
  logLevel: 'log.level',
  workers: 'workers',
  drainDelayMs: 'shutdown.drainDelay',
  shutdownTimeoutMs: 'shutdown.timeout',
  logFlushTimeoutMs: 'shutdown.logFlushTimeout',
  grpcMaxRequestBytes: 'grpc.maxRequestBytes',
  grpcMaxInFlightBytes: 'grpc.maxInFlightBytes',
  heartbeatIntervalMs: 'workerHeartbeat.interval',
  heartbeatTimeoutMs: 'workerHeartbeat.timeout',
  enabled: 'rules[].enabled',
  dryRun: 'rules[].dryRun',
  servicePath: 'rules[].service.path',
  timeoutMs: 'rules[].service.timeout',
  mode: 'rules[].service.mode',
  statusOnError: 'rules[].service.statusOnError',
  maxConcurrent: 'rules[].service.maxConcurrent',
  connections: 'rules[].service.connections',
  retries: 'rules[].service.retries',
  breakerFailures: 'rules[].service.circuitBreaker.failures',
  breakerOpenForMs: 'rules[].service.circuitBreaker.openFor',
  tokenHeader: 'rules[].request.tokenHeader',
  requestAllowedHeaders: 'rules[].request.allowedHeaders',
  maxHeaderBytes: 'rules[].request.maxHeaderBytes',
  bodyEnabled: 'rules[].request.body.enabled',
  bodyMaxBytes: 'rules[].request.body.maxBytes',
  removeHeaders: 'rules[].request.removeHeaders',
  responseAllowedHeaders: 'rules[].response.allowedHeaders',
  appendHeaders: 'rules[].response.appendHeaders',
  clientHeadersOnSuccess: 'rules[].response.clientHeadersOnSuccess',
  dynamicMetadata: 'rules[].response.dynamicMetadata',
  resultHeader: 'rules[].response.resultHeader',
  responseMaxBodyBytes: 'rules[].response.maxBodyBytes',
  matchMode: 'rules[].match',
  cacheTtlMs: 'rules[].cache.ttl',
  cacheMaxEntries: 'rules[].cache.maxEntries',
  cacheMaxBytes: 'rules[].cache.maxBytes',
  coalesce: 'rules[].coalesce',
};

/** A default as the docs write it. */
function asWritten(key: keyof typeof DEFAULTS): string {
  const value: unknown = DEFAULTS[key];
  if (key === 'matchMode') return `{ mode: ${String(value)} }`;
  if (key.endsWith('Ms')) return formatDuration(value as number);
  if (value === '') return '""';
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  return String(value);
}

/** Every markdown page a reader would look a default up in: the README and docs/. */
function docs(): Array<{ file: string; text: string }> {
  const dir = path.join(ROOT, 'docs');
  const pages = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.md'))
        .map((f) => path.join('docs', f))
    : [];
  return ['README.md', ...pages].map((file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') }));
}

/** Table rows whose first cell is a backticked key and second a backticked default: key → [default, where]. */
function documentedDefaults(): Map<string, Array<{ value: string; file: string }>> {
  const rows = new Map<string, Array<{ value: string; file: string }>>();
  const ROW = /^\| `([^`]+)`[^|]*\| `([^`]*)`/;
  for (const { file, text } of docs()) {
    for (const line of text.split('\n')) {
      const m = ROW.exec(line);
      if (!m) continue;
      const list = rows.get(m[1]) ?? [];
      list.push({ value: m[2], file });
      rows.set(m[1], list);
    }
  }
  return rows;
}

describe('the documented defaults', () => {
  const rows = documentedDefaults();

  test.each(Object.keys(DOCUMENTED_AS) as Array<keyof typeof DEFAULTS>)('%s is documented with its value', (key) => {
    const docKey = DOCUMENTED_AS[key];
    expect(rows.get(docKey)?.map((r) => r.value)).toContainEqual(asWritten(key));
    // Tables that name a rule key without the `rules[].` prefix (the bounds table) must agree too.
    const everywhere = [...(rows.get(docKey) ?? []), ...(rows.get(docKey.replace(/^rules\[\]\./, '')) ?? [])];
    for (const row of everywhere) expect(`${row.file}: ${row.value}`).toBe(`${row.file}: ${asWritten(key)}`);
  });
});

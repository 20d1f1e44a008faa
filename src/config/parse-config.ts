import { availableParallelism } from 'node:os';
import { parseDocument } from 'yaml';
import { BOUNDS, DEFAULTS, REQUEST_OVERHEAD_BYTES } from './defaults';
import { readForwardedHeaderNames } from './forwarded-headers';
import { Issues, keyPath } from './issues';
import { parseRequestHeaders, parseResponseHeaders, type Environment } from './parse-header-settings';
import {
  describe,
  isObject,
  readBool,
  readDuration,
  readEnum,
  readHeaderNames,
  readInt,
  readList,
  readObject,
  readString,
  type RawObject,
} from './reader';
import type {
  AdapterSettings,
  CacheSettings,
  CircuitBreakerSettings,
  GrpcTlsSettings,
  LogLevel,
  MatchMode,
  RawMatch,
  RuleSettings,
  ServiceMode,
  ServiceSettings,
  ServiceTlsSettings,
} from './types';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const MATCH_MODES: readonly MatchMode[] = ['all', 'whitelist', 'blacklist', 'complex'];
const SERVICE_MODES: readonly ServiceMode[] = ['loose', 'strict'];
const RULE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/**
 * Parses YAML text into settings; `issues` receives every problem, located by key path.
 * Settings come back whenever the document is a mapping, even with issues, so that later
 * stages (conditions) can report theirs in the same pass; they are usable only when
 * `issues` is empty.
 */
export function parseConfigText(text: string, issues: Issues, env: Environment = process.env): AdapterSettings | undefined {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const err of doc.errors) {
    const pos = err.linePos?.[0];
    issues.add(pos ? `line ${pos.line}, column ${pos.col}` : '', `YAML syntax: ${err.message.split('\n')[0]}`);
  }
  if (doc.errors.length > 0) return undefined;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias to no anchor, or aliases past maxAliasCount (a "billion laughs" document).
    issues.add('', `YAML: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
  return parseConfigValue(value, issues, env);
}

/** Parses an already-decoded document (tests and fuzzers feed values directly). */
export function parseConfigValue(value: unknown, issues: Issues, env: Environment = process.env): AdapterSettings | undefined {
  const root = readObject(value ?? {}, '', issues, ['grpc', 'admin', 'log', 'shutdown', 'workers', 'workerHeartbeat', 'rules']);
  if (!root) return undefined;

  const grpc = readObject(root.grpc, 'grpc', issues, ['address', 'tls', 'maxRequestBytes', 'maxInFlightBytes']);
  const admin = readObject(root.admin, 'admin', issues, ['address', 'exposeConfig']);
  const log = readObject(root.log, 'log', issues, ['level']);
  const shutdown = readObject(root.shutdown, 'shutdown', issues, ['drainDelay', 'timeout', 'logFlushTimeout']);
  const rules = parseRules(root.rules, issues, env);

  const settings: AdapterSettings = {
    grpc: {
      address: readAddress(grpc, 'address', 'grpc', issues, DEFAULTS.grpcAddress, false),
      tls: parseGrpcTls(grpc?.tls, 'grpc.tls', issues),
      ...parseMessageBounds(grpc, rules, issues),
    },
    admin: {
      address: readAddress(admin, 'address', 'admin', issues, DEFAULTS.adminAddress, true),
      exposeConfig: readBool(admin, 'exposeConfig', 'admin', issues, DEFAULTS.exposeConfig),
    },
    log: { level: readEnum(log, 'level', 'log', issues, LOG_LEVELS, DEFAULTS.logLevel) },
    shutdown: {
      drainDelayMs: readDuration(shutdown, 'drainDelay', 'shutdown', issues, DEFAULTS.drainDelayMs, BOUNDS.drainDelayMs),
      timeoutMs: readDuration(shutdown, 'timeout', 'shutdown', issues, DEFAULTS.shutdownTimeoutMs, BOUNDS.shutdownTimeoutMs),
      logFlushTimeoutMs: readDuration(
        shutdown,
        'logFlushTimeout',
        'shutdown',
        issues,
        DEFAULTS.logFlushTimeoutMs,
        BOUNDS.logFlushTimeoutMs,
      ),
    },
    workers: parseWorkers(root.workers, issues),
    workerHeartbeat: parseHeartbeat(root.workerHeartbeat, issues),
    rules,
  };
  return settings;
}

function readAddress(obj: RawObject | undefined, key: string, path: string, issues: Issues, def: string, allowEmpty: boolean): string {
  const address = readString(obj, key, path, issues, def);
  if (allowEmpty && address === '') return address;
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address) || Number(address.split(':').pop()) > 65535) {
    issues.add(keyPath(path, key), `expected "host:port" such as "0.0.0.0:9001" or "[::1]:9001", got ${describe(address)}`);
  }
  return address;
}

function parseWorkers(value: unknown, issues: Issues): number {
  const { min, max } = BOUNDS.workers;
  if (value === undefined || value === null) return DEFAULTS.workers;
  if (value === 'auto') return availableParallelism();
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  issues.add('workers', `expected a whole number from ${min} to ${max} or "auto", got ${describe(value)}`);
  return DEFAULTS.workers;
}

/**
 * `grpc.maxRequestBytes` must hold the largest body a rule forwards plus the request's headers,
 * or that rule's body bound could never be reached; its default grows to fit. The in-flight bound
 * must hold at least one request of that size.
 */
function parseMessageBounds(
  grpc: RawObject | undefined,
  rules: readonly RuleSettings[],
  issues: Issues,
): { maxRequestBytes: number; maxInFlightBytes: number } {
  let needed = 0;
  let neededBy = '';
  rules.forEach((rule, i) => {
    if (!rule.request.body.enabled) return;
    const bytes = rule.request.body.maxBytes + REQUEST_OVERHEAD_BYTES;
    if (bytes > needed) [needed, neededBy] = [bytes, `rules[${i}].request.body.maxBytes`];
  });
  const givenRequest = grpc?.maxRequestBytes !== undefined && grpc.maxRequestBytes !== null;
  const maxRequestBytes = readInt(
    grpc,
    'maxRequestBytes',
    'grpc',
    issues,
    Math.max(DEFAULTS.grpcMaxRequestBytes, needed),
    BOUNDS.grpcMaxRequestBytes,
  );
  if (givenRequest && maxRequestBytes < needed) {
    issues.add(
      'grpc.maxRequestBytes',
      `${maxRequestBytes} is too small for ${neededBy} plus ${REQUEST_OVERHEAD_BYTES} bytes of headers; expected at least ${needed}`,
    );
  }
  const maxInFlightBytes = readInt(
    grpc,
    'maxInFlightBytes',
    'grpc',
    issues,
    Math.max(DEFAULTS.grpcMaxInFlightBytes, maxRequestBytes),
    BOUNDS.grpcMaxInFlightBytes,
  );
  if (maxInFlightBytes < maxRequestBytes) {
    issues.add(
      'grpc.maxInFlightBytes',
      `${maxInFlightBytes} is below grpc.maxRequestBytes (${maxRequestBytes}); expected at least that, or no large request could ever be served`,
    );
  }
  return { maxRequestBytes, maxInFlightBytes };
}

function parseHeartbeat(value: unknown, issues: Issues): { intervalMs: number; timeoutMs: number } {
  const hb = readObject(value, 'workerHeartbeat', issues, ['interval', 'timeout']);
  const intervalMs = readDuration(hb, 'interval', 'workerHeartbeat', issues, DEFAULTS.heartbeatIntervalMs, BOUNDS.heartbeatIntervalMs);
  const timeoutMs = readDuration(hb, 'timeout', 'workerHeartbeat', issues, DEFAULTS.heartbeatTimeoutMs, BOUNDS.heartbeatTimeoutMs);
  if (timeoutMs <= intervalMs) {
    issues.add(
      'workerHeartbeat.timeout',
      `${timeoutMs}ms must be longer than workerHeartbeat.interval (${intervalMs}ms), or a healthy worker would be replaced`,
    );
  }
  return { intervalMs, timeoutMs };
}

function parseGrpcTls(value: unknown, path: string, issues: Issues): GrpcTlsSettings | undefined {
  const tls = readObject(value, path, issues, ['cert', 'key', 'clientCa']);
  if (!tls) return undefined;
  const cert = readString(tls, 'cert', path, issues);
  const key = readString(tls, 'key', path, issues);
  if (!cert) issues.add(keyPath(path, 'cert'), 'required when grpc.tls is set: the path of a PEM certificate file');
  if (!key) issues.add(keyPath(path, 'key'), 'required when grpc.tls is set: the path of a PEM private key file');
  return { cert: cert ?? '', key: key ?? '', clientCa: readString(tls, 'clientCa', path, issues) };
}

function parseRules(value: unknown, issues: Issues, env: Environment): RuleSettings[] {
  const list = readList(value, 'rules', issues);
  if (!list || list.length === 0) {
    if (list) issues.add('rules', 'expected at least one rule; with no rule every check would be allowed');
    else if (value === undefined || value === null) issues.add('rules', 'required: a list of rules');
    return [];
  }
  const rules: RuleSettings[] = [];
  const seen = new Map<string, number>();
  list.forEach((raw, i) => {
    const rule = parseRule(raw, keyPath('rules', i), issues, env);
    if (!rule) return;
    const first = seen.get(rule.name);
    if (first !== undefined) {
      issues.add(keyPath(keyPath('rules', i), 'name'), `duplicate rule name "${rule.name}"; rules[${first}] has it already`);
    }
    seen.set(rule.name, i);
    rules.push(rule);
  });
  return rules;
}

function parseRule(value: unknown, path: string, issues: Issues, env: Environment): RuleSettings | undefined {
  const rule = readObject(value, path, issues, [
    'name',
    'enabled',
    'dryRun',
    'service',
    'request',
    'response',
    'match',
    'cache',
    'coalesce',
  ]);
  if (!rule) {
    if (value === undefined || value === null) issues.add(path, 'expected a rule mapping, got null');
    return undefined;
  }
  const name = readString(rule, 'name', path, issues, '');
  if (!RULE_NAME.test(name)) {
    issues.add(keyPath(path, 'name'), `expected a name of letters, digits, "_", "." or "-" (at most 63), got ${describe(name)}`);
  }
  const requestPath = keyPath(path, 'request');
  const request = readObject(rule.request, requestPath, issues, [
    'tokenHeader',
    'allowedHeaders',
    'headersToAdd',
    'removeHeaders',
    'maxHeaderBytes',
    'body',
  ]);
  const bodyPath = keyPath(requestPath, 'body');
  const body = readObject(request?.body, bodyPath, issues, ['enabled', 'maxBytes']);
  const responsePath = keyPath(path, 'response');
  const response = readObject(rule.response, responsePath, issues, [
    'allowedHeaders',
    'appendHeaders',
    'clientHeadersOnSuccess',
    'clientHeaders',
    'dynamicMetadata',
    'resultHeader',
    'maxBodyBytes',
  ]);
  const resultHeader = readHeaderNames(response, 'resultHeader', responsePath, issues, [DEFAULTS.resultHeader]);
  if (resultHeader.length !== 1) {
    issues.add(keyPath(responsePath, 'resultHeader'), 'expected exactly one header name');
  }
  const tokenHeaders = readForwardedHeaderNames(request, 'tokenHeader', requestPath, issues, [DEFAULTS.tokenHeader]);
  if (tokenHeaders.length === 0) {
    issues.add(keyPath(requestPath, 'tokenHeader'), 'expected at least one header name, such as authorization or cookie');
  }
  const requestHeaders = parseRequestHeaders(request, requestPath, issues, env, tokenHeaders);
  const responseAllowed = readForwardedHeaderNames(response, 'allowedHeaders', responsePath, issues, DEFAULTS.responseAllowedHeaders);

  return {
    name,
    enabled: readBool(rule, 'enabled', path, issues, DEFAULTS.enabled),
    dryRun: readBool(rule, 'dryRun', path, issues, DEFAULTS.dryRun),
    service: parseService(rule.service, keyPath(path, 'service'), issues),
    request: {
      tokenHeaders,
      ...requestHeaders,
      maxHeaderBytes: readInt(request, 'maxHeaderBytes', requestPath, issues, DEFAULTS.maxHeaderBytes, BOUNDS.maxHeaderBytes),
      body: {
        enabled: readBool(body, 'enabled', bodyPath, issues, DEFAULTS.bodyEnabled),
        maxBytes: readInt(body, 'maxBytes', bodyPath, issues, DEFAULTS.bodyMaxBytes, BOUNDS.bodyMaxBytes),
      },
    },
    response: {
      allowedHeaders: responseAllowed,
      ...parseResponseHeaders(response, responsePath, issues, responseAllowed, requestHeaders.removeHeaders),
      resultHeader: resultHeader[0] ?? DEFAULTS.resultHeader,
      maxBodyBytes: readInt(response, 'maxBodyBytes', responsePath, issues, DEFAULTS.responseMaxBodyBytes, BOUNDS.responseMaxBodyBytes),
    },
    match: parseMatch(rule.match, keyPath(path, 'match'), issues),
    cache: parseCache(rule.cache, keyPath(path, 'cache'), issues),
    coalesce: readBool(rule, 'coalesce', path, issues, DEFAULTS.coalesce),
  };
}

function parseService(value: unknown, path: string, issues: Issues): ServiceSettings {
  const service = readObject(value, path, issues, [
    'url',
    'path',
    'timeout',
    'mode',
    'statusOnError',
    'maxConcurrent',
    'connections',
    'retries',
    'circuitBreaker',
    'tls',
  ]);
  if (!service) issues.add(path, 'required: the auth service, e.g. { url: "http://auth:8000", path: /validateToken }');
  const url = readString(service, 'url', path, issues, '');
  if (service && !url) issues.add(keyPath(path, 'url'), 'required: the auth service origin, such as "http://auth:8000"');
  const tls = parseServiceTls(service?.tls, keyPath(path, 'tls'), issues);
  const origin = url ? parseOrigin(url, keyPath(path, 'url'), issues) : '';
  if (tls && origin.startsWith('http:')) {
    issues.add(keyPath(path, 'tls'), 'only applies to an https:// url; change service.url to https:// or remove tls');
  }
  return {
    url: origin,
    path: parseServicePath(readString(service, 'path', path, issues, DEFAULTS.servicePath), keyPath(path, 'path'), issues),
    timeoutMs: readDuration(service, 'timeout', path, issues, DEFAULTS.timeoutMs, BOUNDS.timeoutMs),
    mode: readEnum(service, 'mode', path, issues, SERVICE_MODES, DEFAULTS.mode),
    statusOnError: readInt(service, 'statusOnError', path, issues, DEFAULTS.statusOnError, BOUNDS.statusOnError),
    maxConcurrent: readInt(service, 'maxConcurrent', path, issues, DEFAULTS.maxConcurrent, BOUNDS.maxConcurrent),
    connections: readInt(service, 'connections', path, issues, DEFAULTS.connections, BOUNDS.connections),
    retries: readInt(service, 'retries', path, issues, DEFAULTS.retries, BOUNDS.retries),
    circuitBreaker: parseCircuitBreaker(service?.circuitBreaker, keyPath(path, 'circuitBreaker'), issues),
    tls,
  };
}

function parseCircuitBreaker(value: unknown, path: string, issues: Issues): CircuitBreakerSettings | undefined {
  if (value === false) return undefined;
  const defaults = { failures: DEFAULTS.breakerFailures, openForMs: DEFAULTS.breakerOpenForMs };
  if (value === undefined || value === null || value === true) return defaults;
  if (!isObject(value)) {
    issues.add(path, `expected false (off), true (the defaults) or a mapping such as { failures: 5, openFor: 5s }, got ${describe(value)}`);
    return defaults;
  }
  const breaker = readObject(value, path, issues, ['failures', 'openFor']);
  return {
    failures: readInt(breaker, 'failures', path, issues, DEFAULTS.breakerFailures, BOUNDS.breakerFailures),
    openForMs: readDuration(breaker, 'openFor', path, issues, DEFAULTS.breakerOpenForMs, BOUNDS.breakerOpenForMs),
  };
}

function parseOrigin(url: string, path: string, issues: Issues): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    issues.add(path, `expected an absolute http:// or https:// URL such as "http://auth:8000", got ${describe(url)}`);
    return '';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    issues.add(path, `expected an http:// or https:// URL, got scheme "${parsed.protocol.replace(':', '')}"`);
  }
  if (parsed.username || parsed.password) {
    issues.add(path, 'must not carry credentials; they would be sent on every call and shown in logs');
  }
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash) {
    issues.add(path, `expected an origin only (scheme, host, port); put "${parsed.pathname}" in service.path`);
  }
  return parsed.origin;
}

function parseServicePath(value: string, path: string, issues: Issues): string {
  if (value === '' || value === '/') return '';
  if (!value.startsWith('/') || /[?#\s]/.test(value)) {
    issues.add(path, `expected a path starting with "/" and without "?", "#" or spaces, such as "/validateToken", got ${describe(value)}`);
  }
  return value.replace(/\/+$/, '');
}

function parseServiceTls(value: unknown, path: string, issues: Issues): ServiceTlsSettings | undefined {
  const tls = readObject(value, path, issues, ['ca', 'cert', 'key', 'serverName']);
  if (!tls) return undefined;
  const cert = readString(tls, 'cert', path, issues);
  const key = readString(tls, 'key', path, issues);
  if (Boolean(cert) !== Boolean(key)) {
    issues.add(path, 'cert and key go together: set both for a client certificate, or neither');
  }
  return { ca: readString(tls, 'ca', path, issues), cert, key, serverName: readString(tls, 'serverName', path, issues) };
}

function parseMatch(value: unknown, path: string, issues: Issues): RawMatch {
  const match = readObject(value, path, issues, ['mode', 'conditions', 'permissions']);
  const mode = readEnum(match, 'mode', path, issues, MATCH_MODES, DEFAULTS.matchMode);
  // Whether conditions or permissions are present and well-formed is src/matcher's to say.
  if (mode !== 'complex' && match?.permissions !== undefined) {
    issues.add(keyPath(path, 'permissions'), `only used with mode complex; mode is ${mode}`);
  }
  if ((mode === 'all' || mode === 'complex') && match?.conditions !== undefined) {
    issues.add(keyPath(path, 'conditions'), `only used with mode whitelist or blacklist; mode is ${mode}`);
  }
  return { mode, conditions: match?.conditions, permissions: match?.permissions, path };
}

function parseCache(value: unknown, path: string, issues: Issues): CacheSettings | undefined {
  const cache = readObject(value, path, issues, ['ttl', 'maxEntries', 'maxBytes']);
  if (!cache) return undefined;
  return {
    ttlMs: readDuration(cache, 'ttl', path, issues, DEFAULTS.cacheTtlMs, BOUNDS.cacheTtlMs),
    maxEntries: readInt(cache, 'maxEntries', path, issues, DEFAULTS.cacheMaxEntries, BOUNDS.cacheMaxEntries),
    maxBytes: readInt(cache, 'maxBytes', path, issues, DEFAULTS.cacheMaxBytes, BOUNDS.cacheMaxBytes),
  };
}

export { ConfigError, Issues, formatIssues, keyPath, type ConfigIssue } from './issues';
export { parseDuration, formatDuration } from './duration';
export { parseConfigText, parseConfigValue, DEFAULTS } from './parse-config';
export * from './reader';
export type * from './types';
export { isConnectionHeader } from './forwarded-headers';
export { redactUrls } from './redact-url';
export { CONFIG_SCHEMA_FILE } from './schema-file';

export { ConfigError, Issues, formatIssues, keyPath, type ConfigIssue } from './issues';
export { parseDuration, formatDuration } from './duration';
export { BOUNDS, DEFAULTS, type Bound } from './defaults';
export { parseConfigText, parseConfigValue } from './parse-config';
export * from './reader';
export type * from './types';
export { isHttpToken } from './http-token';
export { closestName, didYouMean } from './did-you-mean';
export { readGrpcTls, readServiceTls, type GrpcTlsMaterial, type ServiceTlsMaterial } from './tls-material';

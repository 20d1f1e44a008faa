export { buildAuthRequest, type AuthRequestResult } from './build-auth-request';
export {
  readCheckRequest,
  type CheckRequestMessage,
  type CheckView,
  type HttpRequestMessage,
  type InvalidCheckRequest,
} from './check-request';
export { toCheckResponse, type CheckResponseMessage, GRPC_OK, GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED } from './check-response';
export { FAILURE_MODE_HEADER } from './failure-mode-header';
export { HOP_BY_HOP } from './hop-by-hop';
export { dryRunAllow } from './dry-run';
export { interpretAuthResponse } from './interpret-auth-response';
export { normalizePath, type NormalizedPath } from './normalize-path';
export { resolveOutcome } from './resolve-outcome';
export { B3_PREFIX, TRACE_HEADERS } from './trace-headers';
export type * from './types';

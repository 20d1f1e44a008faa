export { buildAuthRequest, type AuthRequestResult } from './build-auth-request';
export { readCheckRequest, type CheckRequestMessage, type CheckView, type InvalidCheckRequest } from './check-request';
export { toCheckResponse, type CheckResponseMessage, GRPC_OK, GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED } from './check-response';
export { B3_PREFIX, FAILURE_MODE_HEADER, HOP_BY_HOP, TRACE_HEADERS } from './hop-by-hop';
export { dryRunAllow } from './dry-run';
export { interpretAuthResponse } from './interpret-auth-response';
export { normalizePath, type NormalizedPath } from './normalize-path';
export { resolveOutcome } from './resolve-outcome';
export type * from './types';

import type { Decision, HeaderList } from './types';

/** google.rpc.Code values used in CheckResponse.status. */
export const GRPC_OK = 0;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_UNAUTHENTICATED = 16;

/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction values used here. */
const APPEND_IF_EXISTS_OR_ADD = 0;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

interface HeaderValueOption {
  header: { key: string; value: string };
  append: { value: boolean };
  append_action: typeof APPEND_IF_EXISTS_OR_ADD | typeof OVERWRITE_IF_EXISTS_OR_ADD;
}

/** envoy.service.auth.v3.CheckResponse with proto field names and enums as numbers, ready to encode. */
export interface CheckResponseMessage {
  status: { code: number; message?: string };
  ok_response?: { headers: HeaderValueOption[]; headers_to_remove: string[] };
  denied_response?: { status: { code: number }; headers: HeaderValueOption[]; body: string };
}

/**
 * The one mapping from a Decision to the wire. A denial is a successful RPC with a non-zero
 * status: a gRPC error would be Envoy's own failure, subject to its failure_mode_allow.
 */
export function toCheckResponse(decision: Decision): CheckResponseMessage {
  if (decision.kind === 'allow') {
    return {
      status: { code: GRPC_OK },
      ok_response: {
        headers: decision.headersToSet.map(([key, value]) => overwrite(key, value)),
        headers_to_remove: [...decision.headersToRemove],
      },
    };
  }
  return {
    status: {
      code: decision.status === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED,
      message: decision.reason,
    },
    denied_response: {
      status: { code: decision.status },
      headers: deniedHeaders(decision.headers),
      body: decision.body.toString('utf8'),
    },
  };
}

/**
 * Both the deprecated `append` and `append_action` are set and agree, so Envoy versions that
 * read either one overwrite the client's value instead of appending to it.
 */
function overwrite(key: string, value: string): HeaderValueOption {
  return { header: { key, value }, append: { value: false }, append_action: OVERWRITE_IF_EXISTS_OR_ADD };
}

function append(key: string, value: string): HeaderValueOption {
  return { header: { key, value }, append: { value: true }, append_action: APPEND_IF_EXISTS_OR_ADD };
}

/** The first occurrence of a name replaces Envoy's own; repeats (set-cookie) are appended. */
function deniedHeaders(headers: HeaderList): HeaderValueOption[] {
  const seen = new Set<string>();
  return headers.map(([key, value]) => {
    if (seen.has(key)) return append(key, value);
    seen.add(key);
    return overwrite(key, value);
  });
}

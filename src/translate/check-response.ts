import { toMetadataStruct, type MetadataStruct } from './dynamic-metadata';
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
  ok_response?: { headers: HeaderValueOption[]; headers_to_remove: string[]; response_headers_to_add?: HeaderValueOption[] };
  denied_response?: { status: { code: number }; headers: HeaderValueOption[]; body: string };
  dynamic_metadata: MetadataStruct;
}

/**
 * The one mapping from a Decision to the wire. A denial is a successful RPC with a non-zero
 * status: a gRPC error would be Envoy's own failure, subject to its failure_mode_allow.
 */
export function toCheckResponse(decision: Decision): CheckResponseMessage {
  const dynamic_metadata = toMetadataStruct(decision);
  if (decision.kind === 'allow') {
    const headers = decision.headersToSet.map(([key, value]) => overwrite(key, value));
    const { headersToAppend, removeRequested, clientHeaders } = decision;
    if (headersToAppend && headersToAppend.length > 0) {
      headers.push(...firstOverwrites(headersToAppend, new Set(decision.headersToSet.map(([key]) => key))));
    }
    const remove =
      removeRequested && removeRequested.length > 0 ? union(decision.headersToRemove, removeRequested) : [...decision.headersToRemove];
    return {
      status: { code: GRPC_OK },
      ok_response: {
        headers,
        headers_to_remove: remove,
        ...(clientHeaders &&
          clientHeaders.length > 0 && { response_headers_to_add: clientHeaders.map(([key, value]) => append(key, value)) }),
      },
      dynamic_metadata,
    };
  }
  return {
    status: {
      code: decision.status === 401 ? GRPC_UNAUTHENTICATED : GRPC_PERMISSION_DENIED,
      message: decision.reason,
    },
    denied_response: {
      status: { code: decision.status },
      headers: firstOverwrites(decision.headers),
      body: decision.body.toString('utf8'),
    },
    dynamic_metadata,
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

/**
 * The first occurrence of a name replaces Envoy's own (or the client's); repeats (set-cookie) are
 * appended. For `response.appendHeaders` this is what keeps a client's copy out: Envoy applies
 * `headers_to_remove` after additions, so removing the name would drop the appended values too,
 * and appending alone would keep the client's value in front of them. A name already in `seen`
 * (set by another rule) is appended to.
 */
function firstOverwrites(headers: HeaderList, seen = new Set<string>()): HeaderValueOption[] {
  return headers.map(([key, value]) => {
    if (seen.has(key)) return append(key, value);
    seen.add(key);
    return overwrite(key, value);
  });
}

function union(a: readonly string[], b: readonly string[]): string[] {
  const out = [...a];
  for (const name of b) if (!out.includes(name)) out.push(name);
  return out;
}

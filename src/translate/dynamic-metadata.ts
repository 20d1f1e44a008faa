import type { Decision } from './types';

/**
 * google.protobuf.Struct with string values only, as protobufjs encodes it from a plain object.
 * protobufjs defines the well-known types itself, with camelCase field names whatever `keepCase`
 * says: `stringValue`, not `string_value`.
 */
export interface MetadataStruct {
  fields: Record<string, { stringValue: string }>;
}

/**
 * CheckResponse.dynamic_metadata, which Envoy stores under `envoy.filters.http.ext_authz` for
 * access logs, rate-limit descriptors and later filters: the auth response headers listed in
 * `response.dynamicMetadata` (by lowercase name, as strings), and always the decision's `rule` and
 * `reason`, on an OK and on a denial.
 */
export function toMetadataStruct(decision: Decision): MetadataStruct {
  const { metadata } = decision;
  if (!metadata) return sharedStruct(decision.rule, decision.reason);
  const fields: Record<string, { stringValue: string }> = {};
  for (const name in metadata) fields[name] = { stringValue: metadata[name] };
  fields.rule = { stringValue: decision.rule };
  fields.reason = { stringValue: decision.reason };
  return { fields };
}

/**
 * Rule names come from the config and reasons from a closed set, so the structs without service
 * metadata are few: each is built once and frozen, which lets the encoder encode it once
 * (server/protos.ts). The bound only matters across many reloads that rename rules.
 */
const MAX_SHARED_STRUCTS = 4096;
const shared = new Map<string, Map<string, MetadataStruct>>();
let sharedCount = 0;

function sharedStruct(rule: string, reason: string): MetadataStruct {
  let byReason = shared.get(rule);
  let struct = byReason?.get(reason);
  if (struct) return struct;
  if (sharedCount >= MAX_SHARED_STRUCTS) {
    shared.clear();
    sharedCount = 0;
    byReason = undefined;
  }
  if (!byReason) {
    byReason = new Map();
    shared.set(rule, byReason);
  }
  struct = Object.freeze({
    fields: Object.freeze({ rule: Object.freeze({ stringValue: rule }), reason: Object.freeze({ stringValue: reason }) }),
  });
  byReason.set(reason, struct);
  sharedCount++;
  return struct;
}

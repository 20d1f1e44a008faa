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
  const fields: Record<string, { stringValue: string }> = {};
  const { metadata } = decision;
  if (metadata) for (const name in metadata) fields[name] = { stringValue: metadata[name] };
  fields.rule = { stringValue: decision.rule };
  fields.reason = { stringValue: decision.reason };
  return { fields };
}

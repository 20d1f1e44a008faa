import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Envoy's official protos, as shipped by @grpc/grpc-js-xds. */
const DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
export const PROTO_INCLUDE_DIRS = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => path.join(DEPS, d));
export const EXTERNAL_AUTH_PROTO = 'envoy/service/auth/v3/external_auth.proto';

/**
 * keepCase keeps the proto field names (snake_case) on decoded objects; defaults are not filled
 * in, so absent fields are undefined and no work is spent on fields nobody reads.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: PROTO_INCLUDE_DIRS,
};

let cached: grpc.ServiceDefinition | undefined;

export function authorizationService(): grpc.ServiceDefinition {
  if (!cached) {
    const def = protoLoader.loadSync(EXTERNAL_AUTH_PROTO, LOADER_OPTIONS);
    const svc = def['envoy.service.auth.v3.Authorization'];
    cached = svc as unknown as grpc.ServiceDefinition;
  }
  return cached;
}

export const AUTHORIZATION_SERVICE_NAME = 'envoy.service.auth.v3.Authorization';

'use strict';
/**
 * The Authorization service on protobufjs directly, as the adapter serves it (no proto-loader
 * toObject/fromObject per call), for the benchmark's own small servers: they must pay for a
 * decode and an encode exactly as the adapter does, or the ratios would flatter or wrong it.
 */
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');

const DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const SEARCH_DIRS = [
  ...['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => path.join(DEPS, d)),
  // google/protobuf/descriptor.proto, which the validation annotations import.
  path.dirname(require.resolve('protobufjs/package.json')),
];

function directAuthorizationService() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => SEARCH_DIRS.map((dir) => path.join(dir, target)).find((p) => fs.existsSync(p)) ?? target;
  root.loadSync('envoy/service/auth/v3/external_auth.proto', { keepCase: true });
  root.resolveAll();
  const request = root.lookupType('envoy.service.auth.v3.CheckRequest');
  const response = root.lookupType('envoy.service.auth.v3.CheckResponse');
  return {
    Check: {
      path: '/envoy.service.auth.v3.Authorization/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (message) => request.encode(message).finish(),
      requestDeserialize: (bytes) => request.decode(bytes),
      responseSerialize: (message) => response.encode(message).finish(),
      responseDeserialize: (bytes) => response.decode(bytes),
      originalName: 'check',
    },
  };
}

module.exports = { directAuthorizationService };

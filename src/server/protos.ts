import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { CheckRequestMessage, CheckResponseMessage } from '../translate';

/** Envoy's official protos, as shipped by @grpc/grpc-js-xds. */
const DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
export const PROTO_INCLUDE_DIRS = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => path.join(DEPS, d));
export const EXTERNAL_AUTH_PROTO = 'envoy/service/auth/v3/external_auth.proto';
export const AUTHORIZATION_SERVICE_NAME = 'envoy.service.auth.v3.Authorization';

/**
 * For gRPC clients of the adapter (tests, demo): keepCase keeps the proto field names
 * (snake_case); defaults are not filled in, so absent fields are undefined.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: PROTO_INCLUDE_DIRS,
};

// google/protobuf/descriptor.proto, which the validation annotations import, ships with protobufjs.
const SEARCH_DIRS = [...PROTO_INCLUDE_DIRS, path.dirname(require.resolve('protobufjs/package.json'))];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of SEARCH_DIRS) {
      const candidate = path.join(dir, target);
      try {
        accessSync(candidate, constants.R_OK);
        return candidate;
      } catch {
        // not in this directory
      }
    }
    return target;
  };
  root.loadSync(EXTERNAL_AUTH_PROTO, { keepCase: true });
  root.resolveAll();
  return root;
}

interface Loaded {
  readonly service: grpc.ServiceDefinition;
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

let cached: Loaded | undefined;

function load(): Loaded {
  if (!cached) {
    const root = loadRoot();
    const request = root.lookupType('envoy.service.auth.v3.CheckRequest');
    const response = root.lookupType('envoy.service.auth.v3.CheckResponse');
    // Bytes in, bytes out: the handler decodes (decodeCheckRequest), after charging the
    // request's size against grpc.maxInFlightBytes, and answers with bytes (encodeCheckResponse),
    // so an answer that is the same every time is encoded once. grpc-js copies them into its own frame.
    const check: grpc.MethodDefinition<Buffer, Buffer> = {
      path: `/${AUTHORIZATION_SERVICE_NAME}/Check`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (bytes) => bytes,
      requestDeserialize: (bytes) => bytes,
      responseSerialize: (bytes) => bytes,
      responseDeserialize: (bytes) => bytes,
      originalName: 'check',
    };
    cached = { service: { Check: check } as grpc.ServiceDefinition, request, response };
  }
  return cached;
}

/**
 * The Authorization service for the adapter's own server: bytes in and out, decoded and encoded
 * on protobufjs directly (decodeCheckRequest, encodeCheckResponse) rather than through
 * proto-loader. proto-loader turns every decoded message into a second, plain object tree
 * (`toObject`) and every answer back into a message (`fromObject`); the adapter reads the
 * decoded message as it is and encodes its plain answer directly, which saves both copies and
 * their garbage on every check (docs/performance.md has the measured difference).
 */
export function authorizationService(): grpc.ServiceDefinition {
  return load().service;
}

/**
 * The CheckRequest in the bytes the Check method receives; throws on bytes that are not one.
 * It reads as protobufjs leaves it: an absent scalar is its proto3 default, an absent message is
 * null, an absent map an empty object, and a oneof's name (a Struct Value's `kind`) is a getter.
 */
export function decodeCheckRequest(bytes: Buffer): CheckRequestMessage {
  return load().request.decode(bytes) as unknown as CheckRequestMessage;
}

/** A CheckResponse (proto field names, enums as numbers) as the bytes the Check method answers with. */
export function encodeCheckResponse(message: CheckResponseMessage): Buffer {
  const { response } = load();
  const struct = message.dynamic_metadata;
  if (!struct || !Object.isFrozen(struct)) return encode(response, message);
  // A frozen struct is shared by many answers (translate/dynamic-metadata.ts): its field is
  // encoded once and appended. dynamic_metadata is CheckResponse's last field, and protobufjs
  // writes fields in number order, so the bytes are the same as encoding the whole message.
  let tail = encodedMetadata.get(struct);
  if (!tail) {
    tail = encode(response, { dynamic_metadata: struct });
    encodedMetadata.set(struct, tail);
  }
  const { status, ok_response, denied_response } = message;
  return Buffer.concat([encode(response, { status, ok_response, denied_response }), tail]);
}

const encodedMetadata = new WeakMap<object, Buffer>();

function encode(type: protobuf.Type, message: Partial<CheckResponseMessage>): Buffer {
  // Under Node, protobufjs writes into a Buffer, so finish() needs no copy.
  return type.encode(message as unknown as protobuf.Message).finish() as Buffer;
}

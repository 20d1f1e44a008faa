'use strict';
/**
 * The ceiling: a grpc-js server whose Check decodes the request with protobufjs as the adapter
 * does and returns one constant OK CheckResponse. Whatever it reaches is the most a Node gRPC
 * server can do on this machine. Prints "listening PORT".
 */
const { serveCheck } = require('./lib/serve-check');
const path = require('node:path');
/** @type {typeof import('../src/server/protos')} The adapter's own Check definition, on protobufjs as it decodes and encodes; the code of the build. */
const { authorizationService, decodeCheckRequest, encodeCheckResponse } = require(
  path.join(__dirname, '..', 'dist', 'server', 'protos.js'),
);

/** @typedef {import('../src/translate').CheckResponseMessage} CheckResponseMessage */
// Only the fields the ceiling sets; protobufjs leaves the others out of the encoding.
const OK = /** @type {CheckResponseMessage} */ (/** @type {unknown} */ ({ status: { code: 0 }, ok_response: {} }));

/** @type {import('@grpc/grpc-js').handleUnaryCall<unknown, unknown>} */
// Encoded on every call, as a server answering with a message does.
const check = (call, callback) => {
  decodeCheckRequest(/** @type {Buffer} */ (call.request));
  callback(null, encodeCheckResponse(OK));
};
serveCheck(authorizationService(), check);

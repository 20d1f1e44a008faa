'use strict';
/**
 * The ceiling: a grpc-js server whose Check decodes the request with protobufjs as the adapter
 * does and returns one constant OK CheckResponse. Whatever it reaches is the most a Node gRPC
 * server can do on this machine. Prints "listening PORT".
 */
const { serveCheck } = require('./lib/serve-check');
const path = require('node:path');
/** @type {typeof import('../src/server/protos')} The adapter's own Check definition, on protobufjs as it decodes; the code of the build. */
const { authorizationService } = require(path.join(__dirname, '..', 'dist', 'server', 'protos.js'));

const OK = { status: { code: 0 }, ok_response: {} };

/** @type {import('@grpc/grpc-js').handleUnaryCall<unknown, unknown>} */
const check = (_call, callback) => callback(null, OK);
serveCheck(authorizationService(), check);

'use strict';
/**
 * The ceiling: a grpc-js server whose Check returns one constant OK CheckResponse. Whatever it
 * reaches is the most a Node gRPC server can do on this machine. Prints "listening PORT".
 */
const grpc = require('@grpc/grpc-js');
const { authorizationService } = require('./lib/check-payload');

const OK = { status: { code: 0 }, ok_response: {} };

const server = new grpc.Server();
/** @type {grpc.handleUnaryCall<unknown, unknown>} */
const check = (_call, callback) => callback(null, OK);
server.addService(authorizationService(), { Check: check });
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));

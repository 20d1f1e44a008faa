'use strict';
/**
 * The ceiling: a grpc-js server whose Check decodes the request with protobufjs as the adapter
 * does and returns one constant OK CheckResponse. Whatever it reaches is the most a Node gRPC
 * server can do on this machine. Prints "listening PORT".
 */
const grpc = require('@grpc/grpc-js');
const { directAuthorizationService } = require('./lib/direct-service');

const OK = { status: { code: 0 }, ok_response: {} };

const server = new grpc.Server();
server.addService(directAuthorizationService(), { Check: (_call, callback) => callback(null, OK) });
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));

'use strict';
const grpc = require('@grpc/grpc-js');

/**
 * Serves one Check handler on a free loopback port for the bench's comparison servers: prints
 * "listening PORT" for the runner to read, and shuts down on SIGTERM.
 * @param {grpc.ServiceDefinition} definition the Authorization service, as the server decodes it
 * @param {grpc.handleUnaryCall<any, any>} check
 */
function serveCheck(definition, check) {
  const server = new grpc.Server();
  server.addService(definition, { Check: check });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      console.error(err.message);
      process.exit(1);
    }
    console.log(`listening ${port}`);
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

module.exports = { serveCheck };

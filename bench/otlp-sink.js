'use strict';
/**
 * A collector stand-in for the tracing rows: takes OTLP/HTTP export requests, reads them whole
 * and answers success, as fast as it can. Counts requests and bytes, served at GET /count.
 * Prints "listening PORT".
 */
const http = require('node:http');

let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, bytes }));
    return;
  }
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    requests++;
    // An empty ExportTraceServiceResponse, in either encoding.
    const json = String(req.headers['content-type']).startsWith('application/json');
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

'use strict';
/**
 * The realistic CheckRequest the benchmark sends, framed as gRPC for h2load, and the decoding of
 * its answers. The Check service definition is the package's own client's (src/client).
 */
const path = require('node:path');

/** @type {typeof import('../../src/client')} The types of the source; the code of the build `npm run bench` made. */
const { checkServiceDefinition } = require(path.join(__dirname, '..', '..', 'dist', 'client'));

const CHECK_PATH = checkServiceDefinition().Check.path;

/** The Check service definition, as grpc-js servers (the ceiling and naive references) take it. */
const authorizationService = checkServiceDefinition;

const TOKEN = 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.eyJzdWIiOiJ1c2VyLTQyIiwic2NvcGUiOiJvcmRlcnM6cmVhZCJ9.c2lnbmF0dXJl';

/**
 * A CheckRequest as Envoy sends it for a browser-ish API call: about ten headers, a bearer
 * token, a query string, addresses and an x-request-id; with `body`, a POST carrying it;
 * `extraHeaders` adds to the headers (trace context, say).
 */
/**
 * @param {string} pathAndQuery
 * @param {string} [body]
 * @param {Record<string, string>} [extraHeaders]
 */
function checkRequest(pathAndQuery, body, extraHeaders = {}) {
  const method = body === undefined ? 'GET' : 'POST';
  const headers = {
    ...extraHeaders,
    ':authority': 'shop.example.com',
    ':method': method,
    ':path': pathAndQuery,
    ':scheme': 'https',
    accept: 'application/json',
    'accept-encoding': 'gzip, deflate, br',
    'accept-language': 'en-GB,en;q=0.9',
    authorization: TOKEN,
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-request-id': '3f2b8c1e-6d4a-4b7e-9a51-0c2d8e7f6a90',
    'x-tenant': 'acme',
    ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
  };
  return {
    attributes: {
      source: { address: { socket_address: { address: '203.0.113.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.12', port_value: 8443 } } },
      request: {
        time: { seconds: '1700000000', nanos: 0 },
        http: {
          id: '14829360712003371432',
          method,
          headers,
          body,
          path: pathAndQuery,
          host: 'shop.example.com',
          scheme: 'https',
          protocol: 'HTTP/1.1',
        },
      },
    },
  };
}

/** The gRPC message framing: 1 byte "not compressed", 4 bytes big-endian length, the bytes. */
/** @param {Buffer} message */
function frame(message) {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/**
 * @param {string} pathAndQuery
 * @param {string} [body]
 * @param {Record<string, string>} [extraHeaders]
 */
function encodeCheckRequest(pathAndQuery, body, extraHeaders) {
  return frame(authorizationService().Check.requestSerialize(checkRequest(pathAndQuery, body, extraHeaders)));
}

/**
 * @param {Buffer} framed
 * @returns {import('../../src/client').DecodedCheckResponse & { http_response?: string }}
 */
function decodeCheckResponse(framed) {
  if (framed.length < 5) throw new Error(`response body of ${framed.length} bytes holds no gRPC message`);
  const len = framed.readUInt32BE(1);
  if (framed[0] !== 0 || framed.length !== 5 + len) throw new Error('response body is not one uncompressed gRPC message');
  return authorizationService().Check.responseDeserialize(framed.subarray(5));
}

module.exports = { authorizationService, encodeCheckRequest, decodeCheckResponse, checkRequest, CHECK_PATH, TOKEN };

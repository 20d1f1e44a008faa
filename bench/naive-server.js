'use strict';
/**
 * The naive adapter, the afternoon version: grpc-js + proto-loader, and one `fetch` per check
 * to the auth service with the original path and every header. No matching, no header
 * filtering, no limits. Kept as the baseline the adapter must beat.
 * Usage: node bench/naive-server.js AUTH_URL_PREFIX   (prints "listening PORT")
 */
const { serveCheck } = require('./lib/serve-check');
const { authorizationService } = require('./lib/check-payload');

const authPrefix = process.argv[2];
if (!authPrefix) {
  console.error('usage: node bench/naive-server.js http://127.0.0.1:PORT/check');
  process.exit(1);
}

/**
 * @typedef {{ attributes?: { request?: { http?: { method?: string, path?: string, headers?: Record<string, string> } } } }} CheckRequest
 * @param {import('@grpc/grpc-js').ServerUnaryCall<CheckRequest, unknown>} call
 * @param {import('@grpc/grpc-js').sendUnaryData<unknown>} callback
 */
async function check(call, callback) {
  const http = call.request.attributes?.request?.http ?? {};
  /** @type {Record<string, string>} */
  const headers = {};
  for (const [name, value] of Object.entries(http.headers ?? {})) if (!name.startsWith(':')) headers[name] = value;
  try {
    const res = await fetch(authPrefix + http.path, { method: http.method, headers });
    const body = await res.text();
    const copied = [...res.headers].map(([key, value]) => ({ header: { key, value } }));
    if (res.status === 200) {
      callback(null, { status: { code: 0 }, ok_response: { headers: copied } });
    } else {
      callback(null, { status: { code: 16 }, denied_response: { status: { code: res.status }, headers: copied, body } });
    }
  } catch {
    callback(null, { status: { code: 7 }, denied_response: { status: { code: 403 } } });
  }
}

serveCheck(authorizationService(), check);

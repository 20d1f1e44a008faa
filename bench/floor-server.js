'use strict';
/**
 * The floor: the least an auth adapter on this stack can do per check. grpc-js, the CheckRequest
 * decoded by the adapter's own protobufjs definition, one undici `dispatch` to the auth service
 * with the original path, Host and the token, one response header copied into the answer. No
 * rules, limits, logs, metrics or timeouts: what is left between the adapter and this program is
 * the adapter's own work. Usage: node bench/floor-server.js AUTH_URL (prints "listening PORT").
 */
const path = require('node:path');
const { serveCheck } = require('./lib/serve-check');
const { Pool } = require('undici');
/** @type {typeof import('../src/server/protos')} The adapter's own Check definition, on protobufjs as it decodes and encodes; the code of the build. */
const { authorizationService, decodeCheckRequest, encodeCheckResponse } = require(
  path.join(__dirname, '..', 'dist', 'server', 'protos.js'),
);

/**
 * The decoded request as protobufjs leaves it, as far as the floor reads it.
 * @typedef {{ attributes?: { request?: { http?: { method?: string, path?: string, headers?: Record<string, string> } } } }} Request
 */

const authUrl = process.argv[2];
if (!authUrl) {
  console.error('usage: node bench/floor-server.js http://127.0.0.1:PORT');
  process.exit(1);
}
// The adapter's default pool size toward one service.
const pool = new Pool(authUrl, { connections: 64, pipelining: 1 });
/** @typedef {import('../src/translate').CheckResponseMessage} CheckResponseMessage */
// Answers carry only the fields the floor sets; protobufjs leaves the others out of the encoding.
const DENY = /** @type {CheckResponseMessage} */ (
  /** @type {unknown} */ ({ status: { code: 7 }, denied_response: { status: { code: 403 } } })
);

/** An undici DispatchHandler: the response as it is parsed. */
class Handler {
  /** @param {import('@grpc/grpc-js').sendUnaryData<unknown>} callback */
  constructor(callback) {
    this.callback = callback;
    this.status = 0;
    /** @type {unknown} */
    this.userId = undefined;
  }
  onRequestStart() {}
  /**
   * @param {unknown} _controller
   * @param {number} statusCode
   * @param {Record<string, string | string[] | undefined>} headers
   */
  onResponseStart(_controller, statusCode, headers) {
    this.status = statusCode;
    this.userId = headers['x-user-id'];
  }
  onResponseData() {}
  onResponseEnd() {
    const userId = this.userId;
    this.callback(
      null,
      encodeCheckResponse(
        this.status === 200 && typeof userId === 'string'
          ? /** @type {CheckResponseMessage} */ (
              /** @type {unknown} */ ({ status: { code: 0 }, ok_response: { headers: [{ header: { key: 'x-user-id', value: userId } }] } })
            )
          : DENY,
      ),
    );
  }
  onResponseError() {
    this.callback(null, encodeCheckResponse(DENY));
  }
}

/** @type {import('@grpc/grpc-js').handleUnaryCall<Buffer, unknown>} */
function check(call, callback) {
  const http = /** @type {Request} */ (decodeCheckRequest(call.request)).attributes?.request?.http;
  const headers = http?.headers ?? {};
  pool.dispatch(
    {
      method: /** @type {import('undici').Dispatcher.HttpMethod} */ (http?.method || 'GET'),
      path: `/check${http?.path ?? '/'}`,
      headers: { host: headers[':authority'] ?? '', authorization: headers.authorization ?? '' },
    },
    new Handler(callback),
  );
}

serveCheck(authorizationService(), check);

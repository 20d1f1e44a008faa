'use strict';
/**
 * h2load sees HTTP status and bytes, not gRPC trailers. So the same payload bytes are also sent
 * by a node:http2 client that reads the trailers (grpc-status) and decodes the CheckResponse;
 * each sample must be gRPC OK and carry the decision the target should give. Its body size
 * then lets the h2load run be checked too: every one of its responses must have been 2xx and
 * the DATA bytes must equal requests × that size, which an error (no message) would break.
 */
const http2 = require('node:http2');
const { CHECK_PATH, decodeCheckResponse } = require('./check-payload');

/** @typedef {ReturnType<typeof decodeCheckResponse>} CheckResponse */
/** A problem with a decoded answer, or undefined when it is the one the target gives. @typedef {(response: CheckResponse) => string | undefined} Expect */
/** @typedef {{ ok: true, bodyBytes: number, message?: undefined } | { ok: false, message: string, bodyBytes?: undefined }} SampleResult */

/**
 * @param {import('node:http2').ClientHttp2Session} session
 * @param {Buffer} payload
 * @param {number} timeoutMs
 * @returns {Promise<{ httpStatus: number | undefined, grpcStatus: number | undefined, grpcMessage: string | undefined, body: Buffer }>}
 */
function send(session, payload, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST',
      ':path': CHECK_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), timeoutMs);
    /** @type {import('node:http2').IncomingHttpHeaders} */
    let headers = {};
    /** @type {import('node:http2').IncomingHttpHeaders} */
    let trailers = {};
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (/** @type {Buffer} */ c) => chunks.push(c));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('close', () => {
      clearTimeout(timer);
      const body = Buffer.concat(chunks);
      // A trailers-only answer (an error) carries grpc-status in the headers.
      const grpcStatus = trailers['grpc-status'] ?? headers['grpc-status'];
      resolve({
        httpStatus: headers[':status'] === undefined ? undefined : Number(headers[':status']),
        grpcStatus: grpcStatus === undefined ? undefined : Number(grpcStatus),
        grpcMessage: String(trailers['grpc-message'] ?? headers['grpc-message'] ?? '') || undefined,
        body,
      });
    });
    req.end(payload);
  });
}

/**
 * Sends `count` samples; resolves to { ok, bodyBytes, message }. `expect(response)` returns
 * a problem string, or undefined when the decoded CheckResponse is the one the target gives.
 * @param {number} port
 * @param {Buffer} payload
 * @param {number} count
 * @param {Expect} expect
 * @returns {Promise<SampleResult>}
 */
async function sample(port, payload, count, expect, timeoutMs = 5000) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  try {
    /** @type {number | undefined} */
    let size;
    for (let i = 0; i < count; i++) {
      const r = await send(session, payload, timeoutMs);
      if (r.httpStatus !== 200) return { ok: false, message: `HTTP status ${r.httpStatus}` };
      if (r.grpcStatus !== 0) return { ok: false, message: `grpc-status ${r.grpcStatus} ${r.grpcMessage ?? ''}`.trim() };
      let response;
      try {
        response = decodeCheckResponse(r.body);
      } catch (err) {
        return { ok: false, message: /** @type {Error} */ (err).message };
      }
      const problem = expect(response);
      if (problem) return { ok: false, message: problem };
      if (size !== undefined && size !== r.body.length) {
        return { ok: false, message: `response size varies (${size} vs ${r.body.length} bytes)` };
      }
      size = r.body.length;
    }
    if (size === undefined) return { ok: false, message: 'no sample sent' };
    return { ok: true, bodyBytes: size };
  } catch (err) {
    return { ok: false, message: /** @type {Error} */ (err).message };
  } finally {
    session.destroy();
  }
}

/**
 * Tries a sample until the target answers as expected, bounded in time.
 * @param {number} port
 * @param {Buffer} payload
 * @param {Expect} expect
 * @param {number} timeoutMs
 * @returns {Promise<SampleResult>}
 */
async function waitUntilAnswering(port, payload, expect, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  /** @type {SampleResult | undefined} */
  let last;
  while (Date.now() < deadline) {
    last = await sample(port, payload, 1, expect, 1000);
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last ?? { ok: false, message: 'no answer' };
}

/**
 * Problems with an h2load run, given the verified body size of one response.
 * @param {import('./h2load').H2loadResult | import('./h2load').H2loadFailure} run
 * @param {number} requests
 * @param {number} bodyBytes
 */
function runProblems(run, requests, bodyBytes) {
  if (run.error !== undefined) return [run.error];
  const problems = [];
  if (!(run.succeeded === requests && run.done === requests)) problems.push(`${run.succeeded}/${requests} succeeded`);
  if (run.errored || run.failed || run.timeout) problems.push(`${run.failed} failed, ${run.errored} errored, ${run.timeout} timeout`);
  if (run.status2xx !== requests) problems.push(`${run.status2xx}/${requests} HTTP 2xx`);
  if (run.dataBytes !== requests * bodyBytes) {
    problems.push(`DATA ${run.dataBytes} bytes, expected ${requests} × ${bodyBytes}: some responses were not the verified answer`);
  }
  return problems;
}

/** @satisfies {Record<string, Expect>} */
const expectations = {
  /** @type {Expect} */
  ok(response) {
    if (response.status?.code !== undefined && response.status.code !== 0) return `status.code ${response.status.code}`;
    if (!response.ok_response) return `no ok_response (${response.http_response})`;
    return undefined;
  },
  /** @type {Expect} */
  authAllowed(response) {
    const problem = expectations.ok(response);
    if (problem) return problem;
    const set = (response.ok_response?.headers ?? []).map((h) => `${h.header.key}: ${h.header.value}`);
    return set.includes('x-user-id: user-42') ? undefined : `x-user-id not set from the auth service (${set.join(', ')})`;
  },
  /** @type {Expect} */
  bypass(response) {
    const problem = expectations.ok(response);
    if (problem) return problem;
    const set = (response.ok_response?.headers ?? []).map((h) => h.header.key);
    return set.includes('x-user-id') ? 'a bypassed request got x-user-id: the auth service was called' : undefined;
  },
  /** @type {Expect} */
  denied(response) {
    if (!response.denied_response) return `no denied_response (${response.http_response})`;
    const status = response.denied_response.status?.code;
    if (status !== 401) return `denied with ${status}, expected 401`;
    if (response.denied_response.body !== 'token expired\n') return `denial body ${JSON.stringify(response.denied_response.body)}`;
    return undefined;
  },
};

module.exports = { sample, waitUntilAnswering, runProblems, expectations };

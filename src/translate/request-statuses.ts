/**
 * 5xx statuses that describe the request, not the health of the auth service: the service is up
 * and answering, and its answer is that it will not handle *this* request. A client chooses the
 * method, version and extensions, so counting these as "unavailable" would let it open loose
 * mode at will (an auth service that implements only GET answers 501 to every POST).
 * - 501 Not Implemented: the method is not supported;
 * - 505 HTTP Version Not Supported: the request's HTTP version;
 * - 510 Not Extended: the request lacks an extension the service requires;
 * - 511 Network Authentication Required: the client must authenticate to the network first.
 * The rest of 5xx (500, 502, 503, 504, ...) stays "unavailable", as the gateway documents.
 */
export const REQUEST_STATUSES: ReadonlySet<number> = new Set([501, 505, 510, 511]);

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { AUTHORIZATION_SERVICE_NAME, EXTERNAL_AUTH_PROTO, LOADER_OPTIONS } from '../server/protos';

/**
 * The Check client every caller of the adapter shares: the tests, `npm run demo`, the soak and
 * the bench. It goes through @grpc/proto-loader over Envoy's official protos, the way Envoy's own
 * generated code sees the wire, so it checks the server's hand-driven protobufjs encoding from the
 * other side.
 */

/** CheckResponse as a grpc-js client decodes it (keepCase, enums as numbers). */
export interface DecodedCheckResponse {
  status?: { code?: number; message?: string };
  ok_response?: {
    headers?: Array<{ header: { key: string; value: string }; append?: { value: boolean }; append_action?: number }>;
    headers_to_remove?: string[];
    response_headers_to_add?: Array<{ header: { key: string; value: string }; append?: { value: boolean }; append_action?: number }>;
  };
  denied_response?: {
    status?: { code?: number };
    headers?: Array<{ header: { key: string; value: string }; append?: { value: boolean }; append_action?: number }>;
    body?: string;
  };
  /** google.protobuf.Struct: protobufjs names its fields in camelCase whatever keepCase says. */
  dynamic_metadata?: { fields?: Record<string, { stringValue?: string }> };
}

export interface HttpAttributes {
  method?: string;
  path?: string;
  host?: string;
  scheme?: string;
  headers?: Record<string, string>;
  body?: string;
  raw_body?: Buffer;
  header_map?: { headers: Array<{ key: string; value?: string; raw_value?: Buffer }> };
  id?: string;
}

export interface CheckRequestInit extends HttpAttributes {
  contextExtensions?: Record<string, string>;
  sni?: string;
  destination?: { address: string; port: number };
}

/** A CheckRequest shaped like Envoy's: pseudo-headers in the map, host and path also in their fields. */
export function checkRequest(init: CheckRequestInit = {}): Record<string, unknown> {
  const method = init.method ?? 'GET';
  const path = init.path ?? '/';
  const host = init.host ?? 'www.example.com';
  const http: Record<string, unknown> = {
    id: init.id ?? '1',
    method,
    path,
    host,
    scheme: init.scheme ?? 'http',
    protocol: 'HTTP/1.1',
    headers: init.header_map ? undefined : { ':authority': host, ':method': method, ':path': path, ':scheme': 'http', ...init.headers },
    header_map: init.header_map,
    body: init.body,
    raw_body: init.raw_body,
  };
  return {
    attributes: {
      request: { http },
      destination: init.destination
        ? { address: { socket_address: { address: init.destination.address, port_value: init.destination.port } } }
        : undefined,
      context_extensions: init.contextExtensions,
      tls_session: init.sni ? { sni: init.sni } : undefined,
    },
  };
}

let definition: grpc.ServiceDefinition | undefined;

/**
 * `envoy.service.auth.v3.Authorization` as proto-loader defines it, loaded once per process:
 * loading Envoy's protos costs far more than a call. Enums are numbers, so HTTP status codes
 * compare as numbers. Servers other than the adapter (the bench's references) take it too.
 */
export function checkServiceDefinition(): grpc.ServiceDefinition {
  if (!definition) {
    const pkg = protoLoader.loadSync(EXTERNAL_AUTH_PROTO, { ...LOADER_OPTIONS, enums: undefined });
    definition = pkg[AUTHORIZATION_SERVICE_NAME] as grpc.ServiceDefinition;
  }
  return definition;
}

export type CheckCallback = (err: grpc.ServiceError | null, res: DecodedCheckResponse) => void;
type CheckFn = (req: unknown, opts: grpc.CallOptions, cb: CheckCallback) => void;

/** A real grpc-js client of the adapter's Check. */
export class CheckClient {
  /** The grpc-js client, for callers that drive calls themselves (cancellation, fixed-rate load). */
  readonly raw: grpc.Client & { Check: CheckFn };

  constructor(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}) {
    const Authorization = grpc.makeGenericClientConstructor(checkServiceDefinition(), AUTHORIZATION_SERVICE_NAME);
    this.raw = new Authorization(address, credentials, options) as unknown as grpc.Client & { Check: CheckFn };
  }

  check(req: unknown, deadlineMs = 15_000): Promise<DecodedCheckResponse> {
    return new Promise((resolve, reject) => {
      this.raw.Check(req, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.raw.close();
  }
}

/** ok_response.headers as a plain map. */
export function okHeaders(res: DecodedCheckResponse): Record<string, string> {
  return Object.fromEntries((res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value]));
}

/** denied_response.headers as [name, value] pairs, repeats kept in order. */
export function deniedHeaders(res: DecodedCheckResponse): Array<[string, string]> {
  return (res.denied_response?.headers ?? []).map((h) => [h.header.key, h.header.value]);
}

/** CheckResponse.dynamic_metadata as a plain map of its string values. */
export function metadataOf(res: DecodedCheckResponse): Record<string, string> {
  return Object.fromEntries(Object.entries(res.dynamic_metadata?.fields ?? {}).map(([k, v]) => [k, v.stringValue ?? '']));
}

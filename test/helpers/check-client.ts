import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EXTERNAL_AUTH_PROTO, LOADER_OPTIONS } from '../../src/server/protos';

/** CheckResponse as a real grpc-js client decodes it (keepCase, enums as strings). */
export interface DecodedCheckResponse {
  status?: { code?: number; message?: string };
  ok_response?: {
    headers?: Array<{ header: { key: string; value: string }; append?: { value: boolean }; append_action?: number }>;
    headers_to_remove?: string[];
  };
  denied_response?: {
    status?: { code?: number };
    headers?: Array<{ header: { key: string; value: string }; append?: { value: boolean }; append_action?: number }>;
    body?: string;
  };
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
    headers: init.header_map
      ? undefined
      : { ':authority': host, ':method': method, ':path': path, ':scheme': 'http', ...init.headers },
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

type CheckFn = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: DecodedCheckResponse) => void) => void;

/** A real grpc-js client over Envoy's official protos. */
export class CheckClient {
  readonly raw: grpc.Client & { Check: CheckFn };

  constructor(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}) {
    // Enums as numbers, so HTTP status codes compare as numbers.
    const def = protoLoader.loadSync(EXTERNAL_AUTH_PROTO, { ...LOADER_OPTIONS, enums: undefined });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
    };
    this.raw = new pkg.envoy.service.auth.v3.Authorization(address, credentials, options) as unknown as grpc.Client & { Check: CheckFn };
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

/** ok_response.headers as a plain map, for assertions. */
export function okHeaders(res: DecodedCheckResponse): Record<string, string> {
  return Object.fromEntries((res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value]));
}

export function deniedHeaders(res: DecodedCheckResponse): Array<[string, string]> {
  return (res.denied_response?.headers ?? []).map((h) => [h.header.key, h.header.value]);
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';

/**
 * Protobuf codecs generated (by protobufjs) from the official OTLP protos, as shipped by the
 * exporter's own transformer package: the test decodes exactly what a collector would.
 */
interface Codec {
  decode(bytes: Uint8Array): unknown;
  toObject(
    message: unknown,
    options: { longs: NumberConstructor; enums: NumberConstructor; bytes: StringConstructor; defaults: boolean },
  ): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  create(properties: object): unknown;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const generated = require('@opentelemetry/otlp-transformer/build/src/generated/root') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Codec; ExportTraceServiceResponse: Codec } } } } };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } = generated.opentelemetry.proto.collector.trace.v1;

/** One span as received, ids in lowercase hex whichever encoding carried them. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly resource: Readonly<Record<string, unknown>>;
}

/** What one export request looked like on the wire. */
export interface ReceivedExport {
  readonly contentType: string;
  readonly spans: readonly ReceivedSpan[];
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number };
}
interface OtlpRequest {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/**
 * An OTLP trace receiver on 127.0.0.1, like a collector's `otlp` receiver: over HTTP it decodes
 * `application/x-protobuf` and `application/json` export requests; `startGrpc` serves the OTLP
 * gRPC TraceService instead. Either answers success.
 */
export class OtlpReceiver {
  readonly exports: ReceivedExport[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly server: http.Server;
  private grpcServer: grpc.Server | undefined;
  port = 0;
  /** Take export requests but never answer them, like a collector that hangs. */
  hold = false;

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const contentType = String(req.headers['content-type'] ?? '').split(';')[0];
        const protobuf = contentType === 'application/x-protobuf';
        const decoded = protobuf ? decodeProtobuf(body) : (JSON.parse(body.toString('utf8')) as OtlpRequest);
        this.take(contentType, flatten(decoded, protobuf));
        if (this.hold) {
          // Left open until close().
        } else if (protobuf) {
          res
            .writeHead(200, { 'content-type': 'application/x-protobuf' })
            .end(Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish()));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }
      });
    });
  }

  private take(contentType: string, spans: ReceivedSpan[]): void {
    this.exports.push({ contentType, spans });
    for (const wake of this.waiters) wake();
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  /** The OTLP/gRPC TraceService/Export method, (de)serialized with the generated codecs. */
  static async startGrpc(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    const server = new grpc.Server();
    const exportMethod: grpc.MethodDefinition<Uint8Array, Uint8Array> = {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (m) => Buffer.from(m),
      requestDeserialize: (b) => b,
      responseSerialize: (m) => Buffer.from(m),
      responseDeserialize: (b) => b,
    };
    server.addService(
      { Export: exportMethod },
      {
        Export: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) => {
          receiver.take('application/grpc', flatten(decodeProtobuf(Buffer.from(call.request)), true));
          callback(null, ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish());
        },
      },
    );
    receiver.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    receiver.grpcServer = server;
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get spans(): ReceivedSpan[] {
    return this.exports.flatMap((e) => e.spans);
  }

  /** Resolves once the spans received so far satisfy `done`, checked on each export; rejects after `timeoutMs`. */
  waitFor(what: string, done: (spans: ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<ReceivedSpan[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!done(this.spans)) return false;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(this.spans);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.spans.map((s) => s.name))}`));
      }, timeoutMs);
      this.waiters.add(wake);
      check();
    });
  }

  async close(): Promise<void> {
    this.grpcServer?.forceShutdown();
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function decodeProtobuf(body: Buffer): OtlpRequest {
  const message = ExportTraceServiceRequest.decode(body);
  // bytes as base64 here, turned into hex below like the JSON encoding's ids.
  return ExportTraceServiceRequest.toObject(message, { longs: Number, enums: Number, bytes: String, defaults: false }) as OtlpRequest;
}

function flatten(request: OtlpRequest, base64Ids: boolean): ReceivedSpan[] {
  const id = (value: string | undefined): string =>
    base64Ids ? Buffer.from(value ?? '', 'base64').toString('hex') : (value ?? '').toLowerCase();
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          parentSpanId: id(s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          attributes: attributes(s.attributes),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

function attributes(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

function value(v: OtlpValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_HEADER,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  HTTP_REQUEST_METHOD_VALUE_OTHER,
} from '@opentelemetry/semantic-conventions';
import type { ServiceSettings } from '../../../config';
import type { AuthRequest, Decision } from '../../../translate';
import {
  ATTR_CACHE_HIT,
  ATTR_COALESCED,
  ATTR_DECISION,
  ATTR_DENIAL_STATUS,
  ATTR_REASON,
  ATTR_RULE,
  CHECK_SPAN_NAME,
} from './span-attributes';
import type { AuthCallResult, ObservedAuthCall } from '../../auth-client';
import type { CallMetadata, CheckSpan, CheckTracer } from './types';

const ATTR_REQUEST_ID = ATTR_HTTP_REQUEST_HEADER('x-request-id');
/** Envoy's ids are UUIDs; a client-supplied one is cut here rather than stored at any length. */
const MAX_REQUEST_ID_CHARS = 128;
/** The methods HTTP semantic conventions name; any other is reported as `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** The CheckRequest's headers: names already lowercased, repeats joined, as the propagators expect. */
const HEADER_MAP: TextMapGetter<ReadonlyMap<string, string>> = {
  get: (carrier, key) => carrier.get(key),
  keys: (carrier) => [...carrier.keys()],
};

/**
 * The call's gRPC metadata: where Envoy's own gRPC client puts the context of its span for the
 * ext_authz call, used when the request's headers carry none.
 */
const METADATA: TextMapGetter<CallMetadata> = {
  get: (carrier, key) => {
    const value = carrier.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  },
  keys: (carrier) => Object.keys(carrier.getMap()),
};

/** Spans for the Check path through one OpenTelemetry tracer and propagator. */
export class OtelCheckTracer implements CheckTracer {
  /** Header names the propagator writes: a client's copies are replaced, never sent beside ours. */
  private readonly fields: ReadonlySet<string>;
  /** `server.address` and `server.port` per service, computed once per config. */
  private readonly servers = new WeakMap<ServiceSettings, Attributes>();

  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: TextMapPropagator,
  ) {
    this.fields = new Set(propagator.fields().map((f) => f.toLowerCase()));
  }

  startCheck(headers: ReadonlyMap<string, string> | undefined, metadata: CallMetadata | undefined): CheckSpan {
    let parent = headers ? this.propagator.extract(ROOT_CONTEXT, headers, HEADER_MAP) : ROOT_CONTEXT;
    if (metadata && trace.getSpanContext(parent) === undefined) parent = this.propagator.extract(parent, metadata, METADATA);
    const span = this.tracer.startSpan(CHECK_SPAN_NAME, { kind: SpanKind.SERVER }, parent);
    const requestId = headers?.get('x-request-id');
    if (requestId !== undefined && span.isRecording()) span.setAttribute(ATTR_REQUEST_ID, [requestId.slice(0, MAX_REQUEST_ID_CHARS)]);
    return new OtelCheckSpan(this, span, trace.setSpan(parent, span));
  }

  startAuthCall(parent: Context, service: ServiceSettings, request: AuthRequest): ObservedAuthCall {
    const known = KNOWN_METHODS.has(request.method);
    const query = request.path.indexOf('?');
    const attributes: Attributes = {
      ...this.serverAttributes(service),
      [ATTR_HTTP_REQUEST_METHOD]: known ? request.method : HTTP_REQUEST_METHOD_VALUE_OTHER,
      [ATTR_URL_PATH]: query < 0 ? request.path : request.path.slice(0, query),
    };
    if (!known) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = request.method;
    const span = this.tracer.startSpan(known ? request.method : 'HTTP', { kind: SpanKind.CLIENT, attributes }, parent);
    const headers: Record<string, string> = {};
    for (const name in request.headers) if (!this.fields.has(name)) headers[name] = request.headers[name];
    this.propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
    return new OtelObservedAuthCall(span, { ...request, headers });
  }

  private serverAttributes(service: ServiceSettings): Attributes {
    let attributes = this.servers.get(service);
    if (!attributes) {
      const url = new URL(service.url);
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      attributes = { [ATTR_SERVER_ADDRESS]: url.hostname.replace(/^\[|\]$/g, ''), [ATTR_SERVER_PORT]: port };
      this.servers.set(service, attributes);
    }
    return attributes;
  }
}

class OtelCheckSpan implements CheckSpan {
  constructor(
    private readonly tracer: OtelCheckTracer,
    private readonly span: Span,
    private readonly context: Context,
  ) {}

  startAuthCall(service: ServiceSettings, request: AuthRequest): ObservedAuthCall {
    return this.tracer.startAuthCall(this.context, service, request);
  }

  end(decision: Decision, calls: ReadonlyArray<{ readonly shared?: 'cache' | 'coalesced' }>, error?: unknown): void {
    const span = this.span;
    if (span.isRecording()) {
      let cacheHit = false;
      let coalesced = false;
      for (const call of calls) {
        if (call.shared === 'cache') cacheHit = true;
        else if (call.shared === 'coalesced') coalesced = true;
      }
      const attributes: Attributes = {
        [ATTR_DECISION]: decision.kind,
        [ATTR_REASON]: decision.reason,
        [ATTR_CACHE_HIT]: cacheHit,
        [ATTR_COALESCED]: coalesced,
      };
      if (decision.rule) attributes[ATTR_RULE] = decision.rule;
      if (decision.kind === 'deny') attributes[ATTR_DENIAL_STATUS] = decision.status;
      // The error's type only: its message could quote request data.
      if (error !== undefined) attributes[ATTR_ERROR_TYPE] = error instanceof Error ? error.name : typeof error;
      span.setAttributes(attributes);
      // A denial is the adapter doing its job; only its own failure marks the span as an error.
      if (decision.reason === 'internal_error') span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

class OtelObservedAuthCall implements ObservedAuthCall {
  constructor(
    private readonly span: Span,
    readonly request: AuthRequest,
  ) {}

  end(result: AuthCallResult): void {
    const span = this.span;
    if (span.isRecording()) {
      if (result.ok) {
        const status = result.response.status;
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        // Unlike the HTTP conventions' client default, a 4xx is not an error here: a 401 or 403
        // is the auth service answering "deny", which is its job.
        if (status >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      } else {
        span.setAttribute(ATTR_ERROR_TYPE, result.cause);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  }
}

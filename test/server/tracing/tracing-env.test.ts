import { ConfigError } from '../../../src/config';
import { readTracingEnv } from '../../../src/server/observability';

const ON = { OTEL_TRACES_EXPORTER: 'otlp' };

describe('readTracingEnv', () => {
  test.each<[string, NodeJS.ProcessEnv]>([
    ['unset', {}],
    ['none', { OTEL_TRACES_EXPORTER: 'none' }],
    ['empty', { OTEL_TRACES_EXPORTER: '' }],
    ['the SDK disabled', { ...ON, OTEL_SDK_DISABLED: 'true' }],
  ])('tracing is off when OTEL_TRACES_EXPORTER is %s', (_, env) => {
    expect(readTracingEnv(env)).toBeUndefined();
  });

  test('defaults: OTLP over HTTP/protobuf, W3C trace context and baggage, the SDK queue size', () => {
    expect(readTracingEnv(ON)).toEqual({ protocol: 'http/protobuf', propagators: ['tracecontext', 'baggage'], maxQueueSize: 2048 });
  });

  test.each<[NodeJS.ProcessEnv, object]>([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, { protocol: 'http/json' }],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, { protocol: 'grpc' }],
    [{ OTEL_PROPAGATORS: 'b3, B3Multi' }, { propagators: ['b3', 'b3multi'] }],
    [{ OTEL_PROPAGATORS: 'none' }, { propagators: [] }],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '10' }, { maxQueueSize: 10 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, {}],
  ])('%j', (env, expected) => {
    expect(readTracingEnv({ ...ON, ...env })).toMatchObject(expected);
  });

  test.each<[NodeJS.ProcessEnv, string]>([
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER: "zipkin" is not supported; use otlp or none'],
    [{ ...ON, OTEL_EXPORTER_OTLP_PROTOCOL: 'http' }, 'OTEL_EXPORTER_OTLP_PROTOCOL: "http" is not supported'],
    [{ ...ON, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'udp' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "udp" is not supported'],
    [{ ...ON, OTEL_PROPAGATORS: 'tracecontext,xray' }, 'OTEL_PROPAGATORS: "xray" is not supported'],
    [{ ...ON, OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER: "sometimes" is not supported'],
    [{ ...ON, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '5' }, 'OTEL_TRACES_SAMPLER_ARG: "5" is not a sampling ratio'],
    [{ ...ON, OTEL_BSP_MAX_QUEUE_SIZE: '0' }, 'OTEL_BSP_MAX_QUEUE_SIZE: "0" is not a queue size'],
  ])('%j refuses, naming the variable', (env, message) => {
    let thrown: unknown;
    try {
      readTracingEnv(env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toContain(message);
  });
});

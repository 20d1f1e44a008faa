import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../logger';
import { OtelCheckTracer } from './check-tracer';
import { CountingExporter, QueueBound, type CountDropped } from './dropped-spans';
import { createPropagator } from './propagators';
import type { OtlpProtocol, TracingEnv } from './tracing-env';
import type { Tracing } from './types';

const SERVICE_NAME = 'ext-authz-adapter';
/** Still incubating in the conventions, whose advice is to copy such a name rather than import it. */
const ATTR_PROCESS_PID = 'process.pid';

/**
 * The tracer provider, built from the environment: the exporter for the OTLP protocol asked for
 * (each reads its own endpoint, headers, timeout and compression variables), a batch processor
 * (OTEL_BSP_*), the sampler (OTEL_TRACES_SAMPLER, parent-based always-on by default) and the
 * resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES over a default service name). Nothing is
 * registered globally: the spans are the adapter's own, made with this provider's tracer.
 */
export async function createTracing(env: TracingEnv, logger: Logger, countDropped: CountDropped): Promise<Tracing> {
  const exporter = new CountingExporter(await createExporter(env.protocol), countDropped, logger);
  const queue = new QueueBound(new BatchSpanProcessor(exporter, { maxQueueSize: env.maxQueueSize }), env.maxQueueSize, countDropped);
  exporter.onTaken = (count) => queue.taken(count);
  const provider = new NodeTracerProvider({
    resource: defaultResource()
      // The pid tells apart the workers, each of which exports its own spans; the log lines carry it too.
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: SERVICE_NAME, [ATTR_PROCESS_PID]: process.pid }))
      .merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [queue],
  });
  const tracer = new OtelCheckTracer(provider.getTracer(SERVICE_NAME), createPropagator(env.propagators));
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    // A failed last export is already counted and logged; stopping must not fail the drain.
    shutdown: () => (stopped ??= provider.shutdown().catch(() => undefined)),
  };
}

/** Only the exporter in use is loaded. */
async function createExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    default: {
      const unknown: never = protocol;
      throw new Error(`unknown OTLP protocol ${String(unknown)}`);
    }
  }
}

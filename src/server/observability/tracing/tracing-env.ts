import { ConfigError, type ConfigIssue } from '../../../config';

/** OTLP transports an exporter package exists for, by `OTEL_EXPORTER_OTLP_PROTOCOL` value. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi';

/** What the adapter decides from the environment itself; the SDK reads the other OTEL_* variables. */
export interface TracingEnv {
  readonly protocol: OtlpProtocol;
  readonly propagators: readonly PropagatorName[];
  readonly maxQueueSize: number;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
const PROPAGATORS: readonly PropagatorName[] = ['tracecontext', 'baggage', 'b3', 'b3multi'];
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
const DEFAULT_MAX_QUEUE_SIZE = 2048;

/**
 * Reads the standard OpenTelemetry variables that decide whether and how to trace. Tracing is on
 * only with `OTEL_TRACES_EXPORTER=otlp`; unset or `none` is off, and so is `OTEL_SDK_DISABLED=true`.
 * The SDK would fall back silently on a value it does not know; a typo here would then trace
 * differently than asked, so every such value refuses startup, naming the variable.
 */
export function readTracingEnv(env: NodeJS.ProcessEnv): TracingEnv | undefined {
  const issues: ConfigIssue[] = [];
  const exporters = list(env.OTEL_TRACES_EXPORTER);
  for (const name of exporters) {
    if (name !== 'otlp' && name !== 'none')
      issues.push({ path: 'OTEL_TRACES_EXPORTER', message: `"${name}" is not supported; use otlp or none` });
  }
  if (issues.length > 0) throw new ConfigError('environment', issues);
  if (!exporters.includes('otlp') || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;

  const protocolVar = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVar]?.trim() || 'http/protobuf';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    issues.push({ path: protocolVar, message: `"${protocol}" is not supported; use ${PROTOCOLS.join(', ')}` });
  }

  const propagators = list(env.OTEL_PROPAGATORS ?? 'tracecontext,baggage').filter((p) => p !== 'none');
  for (const name of propagators) {
    if (!(PROPAGATORS as readonly string[]).includes(name)) {
      issues.push({ path: 'OTEL_PROPAGATORS', message: `"${name}" is not supported; use a list of ${PROPAGATORS.join(', ')} or none` });
    }
  }

  const sampler = env.OTEL_TRACES_SAMPLER?.trim();
  if (sampler && !SAMPLERS.includes(sampler)) {
    issues.push({ path: 'OTEL_TRACES_SAMPLER', message: `"${sampler}" is not supported; use one of ${SAMPLERS.join(', ')}` });
  }
  if (sampler?.endsWith('traceidratio')) {
    const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
    const ratio = Number(arg);
    if (arg && !(ratio >= 0 && ratio <= 1)) {
      issues.push({ path: 'OTEL_TRACES_SAMPLER_ARG', message: `"${arg}" is not a sampling ratio; use a number from 0 to 1` });
    }
  }

  let maxQueueSize = DEFAULT_MAX_QUEUE_SIZE;
  const queue = env.OTEL_BSP_MAX_QUEUE_SIZE?.trim();
  if (queue) {
    maxQueueSize = Number(queue);
    if (!Number.isInteger(maxQueueSize) || maxQueueSize < 1) {
      issues.push({ path: 'OTEL_BSP_MAX_QUEUE_SIZE', message: `"${queue}" is not a queue size; use a whole number of spans, at least 1` });
    }
  }
  if (issues.length > 0) throw new ConfigError('environment', issues);
  return { protocol: protocol as OtlpProtocol, propagators: propagators as PropagatorName[], maxQueueSize };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

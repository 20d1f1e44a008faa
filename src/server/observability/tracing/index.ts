import type { Logger } from '../logger';
import type { CountDropped } from './dropped-spans';
import type { TracingEnv } from './tracing-env';
import type { Tracing } from './types';

export { readTracingEnv, type TracingEnv } from './tracing-env';
export type { CallMetadata, CheckSpan, CheckTracer, Tracing } from './types';
export type { DropReason } from './dropped-spans';

/** Loads the OpenTelemetry SDK only now, so a process with tracing off never loads it at all. */
export async function startTracing(env: TracingEnv, logger: Logger, countDropped: CountDropped): Promise<Tracing> {
  const { createTracing } = await import('./create-tracing');
  return createTracing(env, logger, countDropped);
}

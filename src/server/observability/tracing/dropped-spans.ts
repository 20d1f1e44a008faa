import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../logger';

export type DropReason = 'queue_full' | 'export_failed';
export type CountDropped = (reason: DropReason, count: number) => void;

/**
 * In front of the BatchSpanProcessor, holding its queue to the same bound and counting what does
 * not fit. The SDK drops those spans itself, but only says so in a diagnostic line; this way
 * each one is counted. `taken` is told when a batch leaves the queue for the exporter, which
 * the processor does synchronously as it empties the queue.
 */
export class QueueBound implements SpanProcessor {
  private queued = 0;

  constructor(
    private readonly batch: SpanProcessor,
    private readonly maxQueueSize: number,
    private readonly countDropped: CountDropped,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.batch.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    // The processor ignores unsampled spans; they never take a place in its queue.
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queued >= this.maxQueueSize) {
      this.countDropped('queue_full', 1);
      return;
    }
    this.queued++;
    this.batch.onEnd(span);
  }

  taken(count: number): void {
    this.queued = Math.max(0, this.queued - count);
  }

  forceFlush(): Promise<void> {
    return this.batch.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.batch.shutdown();
  }
}

/**
 * The OTLP exporter, with every batch it could not deliver counted. A failing collector is
 * logged once when exports start failing and once when they succeed again, not per batch.
 */
export class CountingExporter implements SpanExporter {
  private failing = false;
  /** Told how many spans left the queue; set once the queue bound exists. */
  onTaken: (count: number) => void = () => undefined;

  constructor(
    private readonly inner: SpanExporter,
    private readonly countDropped: CountDropped,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.onTaken(spans.length);
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        if (this.failing) this.logger.info('trace export recovered');
        this.failing = false;
      } else {
        this.countDropped('export_failed', spans.length);
        // The message only: the error object may carry the request, and with it OTEL_EXPORTER_OTLP_HEADERS.
        if (!this.failing)
          this.logger.warn({ error: result.error?.message }, 'trace export failed; spans are dropped until the collector takes them');
        this.failing = true;
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

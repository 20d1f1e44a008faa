/**
 * The messages between a cluster primary and its workers. A worker asks for the config text
 * (`hello`), gets exactly the text the primary validated (`config`, later `reload`), says when it
 * serves (`ready`), answers metrics requests, and drains on `shutdown`.
 */
import type { Registry } from 'prom-client';

/** One registry's metrics as `getMetricsAsJSON()` gives them; what AggregatorRegistry.aggregate sums. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type ToWorker =
  | { readonly type: 'ext-authz:config'; readonly text: string }
  | { readonly type: 'ext-authz:reload'; readonly text: string }
  | { readonly type: 'ext-authz:shutdown' }
  | { readonly type: 'ext-authz:metrics'; readonly id: number };

export type FromWorker =
  | { readonly type: 'ext-authz:hello' }
  | { readonly type: 'ext-authz:ready'; readonly grpcPort: number }
  | { readonly type: 'ext-authz:metrics'; readonly id: number; readonly metrics?: MetricsJson; readonly error?: string };

/** Whether an IPC message has the shape of one of these, before its `type` is switched on. */
export function isMessage(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

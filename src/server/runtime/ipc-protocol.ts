/**
 * The messages between a cluster primary and its workers. A worker asks for the config text
 * (`hello`), gets exactly the text the primary validated (`config`, later `reload`), says when it
 * serves (`ready`), answers metrics requests, and drains on `shutdown`.
 */
import type { Registry } from 'prom-client';

/** One registry's metrics as `getMetricsAsJSON()` gives them; what AggregatorRegistry.aggregate sums. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * Config messages carry the primary's generation (one more per accepted reload), so a worker
 * reports which config it serves when it becomes ready, and never applies an older one late.
 * `ping`/`pong` is the heartbeat: a worker's event loop answers, so a hung worker falls silent.
 */
export type ToWorker =
  | { readonly type: 'ext-authz:config'; readonly text: string; readonly generation: number }
  | { readonly type: 'ext-authz:reload'; readonly text: string; readonly generation: number }
  | { readonly type: 'ext-authz:shutdown' }
  | { readonly type: 'ext-authz:ping' }
  | { readonly type: 'ext-authz:metrics'; readonly id: number };

export type FromWorker =
  | { readonly type: 'ext-authz:hello' }
  | { readonly type: 'ext-authz:held' }
  | { readonly type: 'ext-authz:pong' }
  | { readonly type: 'ext-authz:ready'; readonly grpcPort: number; readonly generation: number }
  | { readonly type: 'ext-authz:metrics'; readonly id: number; readonly metrics?: MetricsJson; readonly error?: string };

/**
 * Test hook: a worker started with this variable set waits, once it has its config and before it
 * serves, until it gets SIGUSR2, so a test can reload while a worker is starting without racing it.
 */
export const HOLD_WORKER_ENV = 'EXT_AUTHZ_TEST_HOLD_WORKER';

/** Whether an IPC message has the shape of one of these, before its `type` is switched on. */
export function isMessage(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

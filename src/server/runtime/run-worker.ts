import { AdapterServer } from './adapter-server';
import { isMessage, type FromWorker, type ToWorker } from './ipc-protocol';
import { Metrics, readTracingEnv } from '../observability';

/** A worker: asks the primary for the config text, serves gRPC, obeys reload and shutdown. */
export async function runWorker(configFile: string): Promise<void> {
  const text = await new Promise<string>((resolve) => {
    const onConfig = (message: unknown): void => {
      if (isMessage(message) && message.type === 'ext-authz:config') {
        process.off('message', onConfig);
        resolve((message as ToWorker & { type: 'ext-authz:config' }).text);
      }
    };
    process.on('message', onConfig);
    process.send?.({ type: 'ext-authz:hello' } satisfies FromWorker);
  });
  const metrics = new Metrics({ reloads: false });
  // Each worker exports its own spans; the primary already refused an invalid environment.
  const tracing = readTracingEnv(process.env);
  const server = await AdapterServer.start({ configFile, configText: text, admin: false, metrics, tracing });
  const drain = (cause: string): void => server.drainAndExit(cause);
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToWorker;
    switch (m.type) {
      case 'ext-authz:reload':
        void server.reload(m.text);
        return;
      case 'ext-authz:shutdown':
        return drain('primary');
      case 'ext-authz:metrics':
        metrics.registry.getMetricsAsJSON().then(
          (list) => process.send?.({ type: 'ext-authz:metrics', id: m.id, metrics: list } satisfies FromWorker),
          (err: Error) => process.send?.({ type: 'ext-authz:metrics', id: m.id, error: err.message } satisfies FromWorker),
        );
        return;
      default:
        return;
    }
  });
  // Ctrl-C signals the whole process group; SIGHUP's default would kill the worker, and reloads come from the primary.
  process.once('SIGTERM', () => drain('SIGTERM'));
  process.once('SIGINT', () => drain('SIGINT'));
  process.on('SIGHUP', () => undefined);
  // The primary is gone: nobody restarts or reloads this worker, so it drains rather than serve on alone.
  process.once('disconnect', () => drain('primary gone'));
  process.send?.({ type: 'ext-authz:ready', grpcPort: server.grpcPort } satisfies FromWorker);
}

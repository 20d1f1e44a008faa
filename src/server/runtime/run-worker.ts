import { AdapterServer } from './adapter-server';
import { HOLD_WORKER_ENV, isMessage, type FromWorker, type ToWorker } from './ipc-protocol';
import { Metrics, readTracingEnv } from '../observability';

/** A worker: asks the primary for the config text, serves gRPC, obeys reload and shutdown. */
export async function runWorker(configFile: string): Promise<void> {
  // Answered from the start, so a worker still starting is not taken for a hung one.
  process.on('message', (message: unknown) => {
    if (isMessage(message) && message.type === 'ext-authz:ping') process.send?.({ type: 'ext-authz:pong' } satisfies FromWorker);
  });
  const first = await new Promise<{ text: string; generation: number }>((resolve) => {
    const onConfig = (message: unknown): void => {
      if (isMessage(message) && message.type === 'ext-authz:config') {
        process.off('message', onConfig);
        resolve(message as ToWorker & { type: 'ext-authz:config' });
      }
    };
    process.on('message', onConfig);
    process.send?.({ type: 'ext-authz:hello' } satisfies FromWorker);
  });
  if (process.env[HOLD_WORKER_ENV]) await holdUntilReleased();
  let generation = first.generation;
  const metrics = new Metrics({ reloads: false });
  // Each worker exports its own spans; the primary already refused an invalid environment.
  const tracing = readTracingEnv(process.env);
  const server = await AdapterServer.start({ configFile, configText: first.text, admin: false, metrics, tracing });
  const drain = (cause: string): void => server.drainAndExit(cause);
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToWorker;
    switch (m.type) {
      case 'ext-authz:reload':
        // A catch-up sent on ready may cross a newer reload: the newest wins.
        if (m.generation <= generation) return;
        generation = m.generation;
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
  // Every signal goes to the one drain: with no handler left, a second would kill the worker mid-drain.
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
  process.on('SIGHUP', () => undefined);
  // The primary is gone: nobody restarts or reloads this worker, so it drains rather than serve on alone.
  process.once('disconnect', () => drain('primary gone'));
  process.send?.({ type: 'ext-authz:ready', grpcPort: server.grpcPort, generation } satisfies FromWorker);
}

function holdUntilReleased(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGUSR2', () => resolve());
    process.send?.({ type: 'ext-authz:held' } satisfies FromWorker);
  });
}

import cluster from 'node:cluster';
import { ConfigError } from '../../config';
import { AdapterServer } from './adapter-server';
import { compileConfig, readConfigText } from '../check';
import { createLogger, readTracingEnv } from '../observability';
import { runWorker } from './run-worker';
import { WorkerSupervisor } from './worker-supervisor';

/**
 * `serve`: one process with `workers: 1`, else a cluster primary and its workers (which run this
 * same entry point again). Resolves with an exit code only when startup fails; once serving, the
 * process ends through the drain on SIGTERM/SIGINT.
 */
export async function serveConfigFile(file: string): Promise<number> {
  if (cluster.isWorker) {
    try {
      await runWorker(file);
    } catch (err) {
      process.stderr.write(`worker ${process.pid}: ${err instanceof ConfigError ? err.message : String(err)}\n`);
      // The IPC channel to the primary would keep this process alive.
      process.exit(1);
    }
    return new Promise<number>(() => undefined);
  }
  let text: string;
  try {
    const tracing = readTracingEnv(process.env);
    text = await readConfigText(file);
    const config = await compileConfig(text, file);
    if (config.settings.workers > 1) {
      let supervisor: WorkerSupervisor | undefined = undefined;
      const logger = createLogger(config.settings.log.level, () => supervisor?.countDroppedLogLine());
      supervisor = new WorkerSupervisor(file, text, config, logger);
      await supervisor.start();
    } else {
      await AdapterServer.start({ configFile: file, configText: text, watch: true, handleSignals: true, preloaded: config, tracing });
    }
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\nrefusing to start\n`);
    return 1;
  }
  return new Promise<number>(() => undefined);
}

/**
 * The process: the CLI (cli), `serve` (serve), one serving process (adapter-server, with
 * attach-clients, config-reloader, grpc-credentials, watch-config), or a cluster primary
 * (worker-supervisor) and its workers (run-worker) talking over ipc-protocol.
 */
export { AdapterServer, type StartOptions } from './adapter-server';
export { main } from './cli';
export { serveConfigFile } from './serve';

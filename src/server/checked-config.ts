import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config';
import { checkGrpcTls } from './grpc-credentials';
import { compileConfig, retiredClients, type LoadedConfig } from './load-config';

/** Reads the config file; an unreadable file is a ConfigError like any other. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
}

/**
 * Compiles a config and checks what compiling alone cannot (the gRPC certificate and key belong
 * together), so a config that is accepted can be served. On rejection, pools created for it are
 * destroyed; pools taken over from `previous` are left alone.
 */
export async function compileCheckedConfig(text: string, source: string, previous?: LoadedConfig): Promise<LoadedConfig> {
  const next = await compileConfig(text, source, previous);
  const tlsProblem = checkGrpcTls(next.grpcTls);
  if (tlsProblem) {
    const created = previous ? retiredClients(next, previous) : [...new Set(next.rules.map((r) => r.client))];
    await Promise.all(created.map((c) => c.destroy()));
    throw new ConfigError(source, [{ path: 'grpc.tls', message: tlsProblem }]);
  }
  return next;
}

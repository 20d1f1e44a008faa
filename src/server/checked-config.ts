import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config';
import { checkGrpcTls, tlsMode } from './grpc-credentials';
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
export async function compileCheckedConfig(
  text: string,
  source: string,
  previous?: LoadedConfig,
  clock?: () => number,
): Promise<LoadedConfig> {
  const next = await compileConfig(text, source, previous, clock);
  const tlsProblem = checkGrpcTls(next.grpcTls);
  if (tlsProblem) {
    const created = previous ? retiredClients(next, previous) : [...new Set(next.rules.map((r) => r.client))];
    await Promise.all(created.map((c) => c.destroy()));
    throw new ConfigError(source, [{ path: 'grpc.tls', message: tlsProblem }]);
  }
  return next;
}

/** Settings a running process cannot apply: they keep their old value until a restart. */
export function settingsNeedingRestart(previous: LoadedConfig, next: LoadedConfig): string[] {
  const changed: string[] = [];
  if (previous.settings.grpc.address !== next.settings.grpc.address) changed.push('grpc.address');
  if (tlsMode(previous.grpcTls) !== tlsMode(next.grpcTls)) changed.push('grpc.tls (turning TLS or client certificates on or off)');
  if (previous.settings.admin.address !== next.settings.admin.address) changed.push('admin.address');
  if (previous.settings.workers !== next.settings.workers) changed.push('workers');
  return changed;
}

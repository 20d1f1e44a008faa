import type { CompiledConfig } from '../check';
import { tlsMode } from './grpc-credentials';

/** Settings a running process cannot apply: they keep their old value until a restart. */
export function settingsNeedingRestart(previous: CompiledConfig, next: CompiledConfig): string[] {
  const changed: string[] = [];
  if (previous.settings.grpc.address !== next.settings.grpc.address) changed.push('grpc.address');
  if (tlsMode(previous.grpcTls) !== tlsMode(next.grpcTls)) changed.push('grpc.tls (turning TLS or client certificates on or off)');
  if (previous.settings.admin.address !== next.settings.admin.address) changed.push('admin.address');
  if (previous.settings.workers !== next.settings.workers) changed.push('workers');
  return changed;
}

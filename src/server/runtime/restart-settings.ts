import type { CompiledConfig } from '../check';
import { tlsMode } from './grpc-credentials';

/** A setting the running process keeps until a restart, and the value the file now asks for. */
export interface PinnedSetting {
  readonly setting: string;
  readonly running: string;
  readonly configured: string;
}

/**
 * `next` as the running process can serve it: settings it cannot apply without a restart (the
 * listeners' addresses, the gRPC message bound, turning gRPC TLS or client certificates on or
 * off, the worker count)
 * keep their running values, so `/config` shows what is in force rather than what the file says.
 * The listener is not rebound on reload: a new address could fail to bind after the old one was
 * given up, and connections Envoy holds would be cut.
 */
export function pinRestartSettings(previous: CompiledConfig, next: CompiledConfig): { config: CompiledConfig; pinned: PinnedSetting[] } {
  const was = previous.settings;
  const now = next.settings;
  const pinned: PinnedSetting[] = [];
  const pin = (setting: string, running: string, configured: string): void => {
    if (running !== configured) pinned.push({ setting, running, configured });
  };
  pin('grpc.address', was.grpc.address, now.grpc.address);
  // The gRPC server's message bound is set when it is made.
  pin('grpc.maxRequestBytes', String(was.grpc.maxRequestBytes), String(now.grpc.maxRequestBytes));
  pin('admin.address', was.admin.address, now.admin.address);
  pin('workers', String(was.workers), String(now.workers));
  const tlsChanged = tlsMode(previous.grpcTls) !== tlsMode(next.grpcTls);
  pin('grpc.tls', tlsMode(previous.grpcTls), tlsMode(next.grpcTls));
  if (pinned.length === 0) return { config: next, pinned };
  return {
    config: {
      ...next,
      settings: {
        ...now,
        grpc: {
          ...now.grpc,
          address: was.grpc.address,
          maxRequestBytes: was.grpc.maxRequestBytes,
          tls: tlsChanged ? was.grpc.tls : now.grpc.tls,
        },
        admin: { ...now.admin, address: was.admin.address },
        workers: was.workers,
      },
      grpcTls: tlsChanged ? previous.grpcTls : next.grpcTls,
    },
    pinned,
  };
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AdminDeps {
  /** The Prometheus text exposition: this process's registry, or the cluster aggregate. */
  metrics(): Promise<string>;
  readonly metricsContentType: string;
  /** Ready once the config has loaded and the gRPC port is bound, and until draining starts. */
  ready(): boolean;
  /** The effective config with secrets and key material redacted, or undefined when not exposed. */
  config(): unknown;
}

/** /healthz (liveness), /readyz (readiness), /metrics (Prometheus), /config (when exposed). */
export function createAdminServer(deps: AdminDeps): http.Server {
  return http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    switch (url) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/readyz':
        return deps.ready() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
      case '/metrics':
        deps.metrics().then(
          (text) => send(res, 200, text, deps.metricsContentType),
          (err: Error) => send(res, 503, `metrics unavailable: ${err.message}\n`),
        );
        return;
      case '/config': {
        const config = deps.config();
        if (config === undefined) return send(res, 404, 'disabled; set admin.exposeConfig: true to enable\n');
        return send(res, 200, `${JSON.stringify(config, null, 2)}\n`, 'application/json');
      }
      default:
        return send(res, 404, 'not found\n');
    }
  });
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function listen(server: http.Server, address: string): Promise<number> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the auth service received it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

export type AuthHandler = (req: ReceivedRequest, res: http.ServerResponse) => void;

/** A real HTTP auth service on 127.0.0.1 that records what it receives and counts open sockets. */
export class TestAuthService {
  readonly received: ReceivedRequest[] = [];
  private readonly sockets = new Set<Socket>();
  handler: AuthHandler;
  readonly server: http.Server;
  port = 0;

  constructor(handler: AuthHandler) {
    this.handler = handler;
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const record: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: Buffer.concat(chunks),
        };
        this.received.push(record);
        this.handler(record, res);
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(handler: AuthHandler): Promise<TestAuthService> {
    const svc = new TestAuthService(handler);
    await new Promise<void>((resolve) => svc.server.listen(0, '127.0.0.1', resolve));
    svc.port = (svc.server.address() as AddressInfo).port;
    return svc;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers with a status, headers and body. */
export function reply(status: number, headers: Record<string, string | string[]> = {}, body = ''): AuthHandler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

/** An http:// URL on 127.0.0.1 where nothing listens: a port bound and released, so a connection is refused. */
export async function deadUrl(): Promise<string> {
  const s = await TestAuthService.start(reply(200));
  const url = s.url;
  await s.close();
  return url;
}

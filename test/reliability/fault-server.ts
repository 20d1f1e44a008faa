import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** What a misbehaving auth service does with one connection once a request head has arrived. */
export type FaultBehaviour = (socket: net.Socket, requestHead: string) => void;

const HEAD_END = '\r\n\r\n';
/** Bounds the request head the fake will buffer, so a runaway client cannot grow it. */
const MAX_HEAD = 256 * 1024;

/**
 * A raw TCP "HTTP server" on 127.0.0.1 that answers each request with whatever bytes the
 * behaviour writes, for faults a real HTTP server would never produce. It counts open
 * connections and requests received, so tests can prove nothing leaked or was sent twice.
 */
export class FaultServer {
  private readonly sockets = new Set<net.Socket>();
  /** Open sockets that carried at least one request; an idle pre-connected socket is not a leak. */
  private readonly used = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly server: net.Server;
  requests = 0;
  connections = 0;
  port = 0;

  private constructor(public behaviour: FaultBehaviour) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(behaviour: FaultBehaviour): Promise<FaultServer> {
    const fs = new FaultServer(behaviour);
    await fs.listen(0);
    return fs;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Open connections that carried a request. */
  get openSockets(): number {
    return this.used.size;
  }

  /** Every open connection, idle ones included. */
  get allSockets(): number {
    return this.sockets.size;
  }

  /** A timer that is cleared when the server closes, so no test leaves one running. */
  every(ms: number, fn: () => boolean): void {
    const t = setInterval(() => {
      if (!fn()) {
        clearInterval(t);
        this.timers.delete(t);
      }
    }, ms);
    this.timers.add(t);
  }

  /** Waits until at most `n` connections that carried a request are open, for at most `ms`; returns the count then. */
  async settle(n: number, ms = 2_000): Promise<number> {
    const until = Date.now() + ms;
    while (this.used.size > n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return this.used.size;
  }

  private accept(socket: net.Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.used.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      // Requests on one keep-alive connection are handled one after another, as the adapter never pipelines.
      for (;;) {
        const end = buffered.indexOf(HEAD_END);
        if (end === -1) break;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + HEAD_END.length + length) break;
        buffered = buffered.slice(end + HEAD_END.length + length);
        this.requests++;
        this.used.add(socket);
        this.behaviour(socket, head);
      }
      if (buffered.length > MAX_HEAD) socket.destroy();
    });
  }

  /** Stops accepting and drops every connection; `listen(port)` may take the same port again. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A complete, well-formed response. */
export function okResponse(status = 200, headers: Record<string, string> = {}, body = ''): string {
  const lines = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)) }).map(([k, v]) => `${k}: ${v}`);
  return `HTTP/1.1 ${status} X\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

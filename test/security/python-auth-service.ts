import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * Auth services written the way people write them with Python's standard `http.server`. Each
 * prints its port when it listens, then one line per request it handles ("METHOD path").
 */
const SERVICES = {
  /**
   * The gateway documentation's example: SimpleHTTPRequestHandler with only do_GET overridden.
   * Every other method gets the standard library's own 501 page.
   */
  'get-only': `
import http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        log(self)
        if self.headers.get('Authorization') == 'Bearer good':
            self.send_response(200); self.send_header('x-user-id', 'user-1')
        else:
            self.send_response(401); self.send_header('www-authenticate', 'Bearer')
        self.send_header('content-length', '0'); self.end_headers()
    def log_message(self, *args): pass
`,
  /**
   * HTTP/1.1 keep-alive, answering from the head alone and never reading a body: reads of the
   * ratings API are granted the reviewer identity, everything else needs the token.
   */
  'ignores-body': `
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def answer(self):
        log(self)
        if self.path.startswith('/validateToken/ratings/') or self.headers.get('Authorization') == 'Bearer good':
            self.send_response(200); self.send_header('x-user-id', 'reviewer-1')
        else:
            self.send_response(401)
        self.send_header('content-length', '0'); self.end_headers()
    do_GET = do_POST = do_PUT = do_DELETE = answer
    def log_message(self, *args): pass
`,
} as const;

const PRELUDE = `
import http.server, sys
def log(handler):
    print(handler.command, handler.path, flush=True)
`;
const MAIN = `
server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
`;

export type PythonServiceKind = keyof typeof SERVICES;

/** A real Python `http.server` auth service on 127.0.0.1, run as a child process. */
export class PythonAuthService {
  /** "METHOD path" of each request the service handled, in order. */
  readonly handled: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(kind: PythonServiceKind): Promise<PythonAuthService> {
    const child = spawn('python3', ['-u', '-c', PRELUDE + SERVICES[kind] + MAIN], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`python3 exited with ${code} before listening`)));
      lines.once('line', (line) => resolve(Number(line)));
    });
    const service = new PythonAuthService(child, port);
    lines.on('line', (line) => service.handled.push(line));
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill();
    await exited;
  }
}

'use strict';
/**
 * The auth service for the benchmark: nginx with its own config, prefix and logs in the work
 * dir, in the foreground, on a loopback port.
 *   /check/deny/...  -> 401 with a WWW-Authenticate header and a body
 *   /check/...       -> 200 with x-user-id and x-user-role
 *   /parity/...      -> 200 with those, two x-groups, two Set-Cookie and x-envoy-auth-headers-to-remove
 *   /nginx-status    -> stub_status, whose request count tells how many auth calls were made
 */
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { freePort, start, stop, stderrOf, workDir } = require('./processes');

function nginxBinary() {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {string} prefix
 * @param {number} port
 */
function config(prefix, port) {
  const tmp = (/** @type {string} */ name) => path.join(prefix, 'tmp', name);
  return `daemon off;
master_process on;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  # Pools keep their connections for the whole run, as they would in front of a real service.
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${port};
    location /nginx-status { stub_status; }
    location /check/deny/ {
      default_type text/plain;
      add_header www-authenticate 'Bearer error="invalid_token"' always;
      return 401 "token expired\\n";
    }
    location /parity/ {
      add_header x-user-id "user-42" always;
      add_header x-user-role "reader" always;
      add_header x-groups "orders" always;
      add_header x-groups "billing" always;
      add_header set-cookie "session=s1; HttpOnly; Secure" always;
      add_header set-cookie "csrf=c1; Secure" always;
      add_header x-envoy-auth-headers-to-remove "authorization, x-forwarded-for" always;
      return 200;
    }
    location / {
      add_header x-user-id "user-42" always;
      add_header x-user-role "reader" always;
      return 200;
    }
  }
}
`;
}

/**
 * @param {number} port
 * @param {string} urlPath
 * @returns {Promise<{ status: number | undefined, headers: import('node:http').IncomingHttpHeaders, body: string }>}
 */
function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (/** @type {string} */ c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

class Nginx {
  /**
   * @param {import('./processes').BenchChild} child
   * @param {number} port
   */
  constructor(child, port) {
    this.child = child;
    this.port = port;
  }

  static async start() {
    const binary = nginxBinary();
    if (!binary) throw new Error('nginx not found; install it: apt-get update && apt-get install -y nghttp2-client nginx');
    const prefix = path.join(workDir(), 'nginx');
    for (const d of ['tmp', 'conf']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
    const port = await freePort();
    const conf = path.join(prefix, 'conf', 'nginx.conf');
    fs.writeFileSync(conf, config(prefix, port));
    const child = start('nginx', binary, ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', conf]);
    const nginx = new Nginx(child, port);
    for (let i = 0; i < 100; i++) {
      try {
        const res = await get(port, '/check/ready');
        if (res.status === 200 && res.headers['x-user-id'] === 'user-42') return nginx;
      } catch {
        // Not listening yet.
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = fs.existsSync(path.join(prefix, 'error.log')) ? fs.readFileSync(path.join(prefix, 'error.log'), 'utf8') : '';
    await stop(child);
    throw new Error(`nginx did not start on 127.0.0.1:${port}: ${stderrOf(child)} ${log.slice(-1000)}`);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests nginx has handled so far (including these status reads). */
  async requests() {
    const res = await get(this.port, '/nginx-status');
    const m = /\n\s*\d+\s+\d+\s+(\d+)/.exec(res.body);
    if (!m) throw new Error(`unexpected stub_status output: ${res.body}`);
    return Number(m[1]);
  }

  stop() {
    return stop(this.child);
  }
}

module.exports = { Nginx };

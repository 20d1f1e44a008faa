import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CONFIG_SCHEMA_FILE } from '../../src/config';
import { main } from '../../src/server/runtime/cli';
import { TestAdapter, configYaml, ruleYaml, writeConfig } from '../helpers/adapter';

/** Runs the CLI in-process and captures what it writes. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const BROKEN = `rules:
  - name: orders
    service: { url: "http://auth:8000", timeout: ten }
    match: { mode: complex, permissions: [{ and_rules: { rules: [] } }] }
`;

describe('validate', () => {
  test('accepts the example config', async () => {
    const r = await run(['validate', '--config', 'config/example.yaml']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok (1 rule)');
  });

  test('rejects a broken config with every error, its file and key path, and exit 1', async () => {
    const file = writeConfig(BROKEN);
    const r = await run(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`invalid config ${file}`);
    expect(r.err).toContain('rules[0].service.timeout: expected a duration like "250ms" or "10s"');
    expect(r.err).toContain('rules[0].match.permissions[0].and_rules.rules');
  });

  test('warns, without rejecting, about a case-sensitive blacklist path', async () => {
    const file = writeConfig(`rules:
  - name: admin
    service: { url: "http://127.0.0.1:1" }
    match: { mode: blacklist, conditions: [{ path: /admin/*, caseSensitive: true }] }
`);
    const r = await run(['validate', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ok (1 rule)');
    expect(r.err).toContain(`${file}: warning: rules[0].match.conditions[0].caseSensitive: a case-sensitive blacklist path`);
  });

  test('names a missing file', async () => {
    const r = await run(['validate', '--config', '/nonexistent/adapter.yaml']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('/nonexistent/adapter.yaml');
    expect(r.err).toContain('cannot read the file');
  });

  test('requires --config', async () => {
    const r = await run(['validate']);
    // Exit 2, not 1: a command line that cannot run is a usage error (issue 13).
    expect(r.code).toBe(2);
    expect(r.err).toContain('missing --config FILE');
  });
});

describe('a command line that cannot run as written', () => {
  test.each([
    ['a misspelt option', ['validate', '--confg', 'x'], "Unknown option '--confg'"],
    ['an option without its value', ['validate', '--config'], "--config <value>' argument missing"],
    ['an unknown option of explain', ['explain', '--config', 'x', '--verbose'], "Unknown option '--verbose'"],
    ['an unknown command', ['valdate', '--config', 'x'], 'unknown command "valdate"'],
  ])('%s prints the usage and exits 2, without a stack trace', async (_name, args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain('Usage:');
    expect(r.err).not.toMatch(/TypeError|\n\s+at /);
  });
});

describe('validate refuses what serve refuses', () => {
  const notPem = writeConfig('not a certificate\n');
  test.each([
    [
      'grpc.tls files that are not PEM',
      `grpc: { tls: { cert: "${notPem}", key: "${notPem}" } }\n`,
      'grpc.tls: the certificate, key or client CA cannot be used',
    ],
    [
      'a service.tls CA that is not PEM',
      '',
      'rules[0].service.tls: the CA, certificate or key cannot be used',
      `    service: { url: "https://auth:8443", tls: { ca: "${notPem}" } }`,
    ],
  ])('%s', async (_name, top, message, service = '    service: { url: "http://auth:8000" }') => {
    const file = writeConfig(`${top}rules:\n  - name: a\n${service}\n`);
    const validated = await run(['validate', '--config', file]);
    expect(validated.code).toBe(1);
    expect(validated.err).toContain(message);
    const served = await run(['serve', '--config', file]);
    expect(served.code).toBe(1);
    expect(served.err).toContain(message);
  });
});

describe('schema', () => {
  test('prints the JSON Schema of the config file, byte for byte', async () => {
    const r = await run(['schema']);
    expect(r).toEqual({ code: 0, out: readFileSync(CONFIG_SCHEMA_FILE, 'utf8'), err: '' });
    expect(JSON.parse(r.out)).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', required: ['rules'] });
  });

  test('is in the usage, and takes no arguments', async () => {
    expect((await run(['--help'])).out).toMatch(/^ {2}ext-authz-adapter schema +print the JSON Schema of the config file/m);
    const r = await run(['schema', '--config', 'config/example.yaml']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('schema takes no arguments, got --config config/example.yaml');
  });
});

describe('serve', () => {
  test('refuses to start on a broken config', async () => {
    const r = await run(['serve', '--config', writeConfig(BROKEN)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('refusing to start');
  });
});

describe('explain', () => {
  const config = `rules:
  - name: site
    service: { url: "http://127.0.0.1:1" }
    match:
      mode: whitelist
      conditions:
        - path: /public/*
`;

  test('says a whitelisted path skips authentication and a traversal does not', async () => {
    const file = writeConfig(config);
    const pub = await run(['explain', '--config', file, '--path', '/public/a']);
    expect(pub.code).toBe(0);
    expect(pub.out).toContain('rule "site": no authentication');
    const trick = await run(['explain', '--config', file, '--path', '/public/../admin', '--json']);
    const json = JSON.parse(trick.out);
    expect(json.request.path).toBe('/admin');
    expect(json.rules[0]).toMatchObject({ rule: 'site', needsAuth: true });
  });

  test('shows the resolution it applied: why a path is unsafe, and a blacklist near miss', async () => {
    const file = writeConfig(config);
    const param = await run(['explain', '--config', file, '--path', '/public/..;/admin']);
    expect(param.out).toContain('rule "site": NEEDS AUTHENTICATION');
    expect(param.out).toContain('(path unsafe: always authenticated)');
    expect(param.out).toMatch(/resolution: path could not be normalized safely: it holds ";": Servlet containers strip/);
    const host = await run(['explain', '--config', file, '--host', 'www.example.com%2f', '--path', '/public/a']);
    expect(host.out).toContain('(host unsafe: always authenticated)');
    expect(host.out).toContain('rule "site": NEEDS AUTHENTICATION');

    const blacklist = writeConfig(`rules:
  - name: admin
    service: { url: "http://127.0.0.1:1" }
    match: { mode: blacklist, conditions: [{ path: /admin/* }, { path: /api/private }] }
`);
    const index = await run(['explain', '--config', blacklist, '--path', '/admin']);
    expect(index.out).toContain('rule "admin": NEEDS AUTHENTICATION');
    expect(index.out).toContain('blacklist near miss at rules[0].match.conditions[0].path: "/admin" counted as "/admin/"');
    const upper = await run(['explain', '--config', blacklist, '--path', '/API/private/', '--json']);
    const json = JSON.parse(upper.out);
    expect(json.rules[0]).toMatchObject({ needsAuth: true });
    expect(json.rules[0].reason).toContain('"/API/private/" counted as "/API/private"');
  });

  test('rejects a malformed --header', async () => {
    const r = await run(['explain', '--config', writeConfig(config), '--header', 'novalue']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('expected name=value');
  });
});

describe('health', () => {
  test('answers SERVING for "" and for the Authorization service', async () => {
    const adapter = await TestAdapter.start(configYaml(ruleYaml('a', 'http://127.0.0.1:1')));
    const def = protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), { enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${adapter.server.grpcPort}`, grpc.credentials.createInsecure()) as unknown as {
      Check(req: { service: string }, cb: (err: Error | null, res: { status: string }) => void): void;
      close(): void;
    };
    const check = (service: string) =>
      new Promise<string>((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));
    try {
      expect(await check('')).toBe('SERVING');
      expect(await check('envoy.service.auth.v3.Authorization')).toBe('SERVING');
      await expect(check('other.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
      await adapter.close();
    }
  });
});

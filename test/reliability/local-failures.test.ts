import { spawn } from 'node:child_process';
import type http from 'node:http';
import { configYaml, writeConfig } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { CheckClient, checkRequest } from '../helpers/check-client';
import { CliProcess, builtCli } from '../helpers/cli-process';
import { until } from '../helpers/until';
import { summarize, type Summary } from './summary';

// Issue 19, finding 8 (and point 5 of what to build): running out of file descriptors is the
// adapter failing, not the auth service, so loose mode must not let the check through. The real
// CLI runs with a descriptor limit low enough that opening sockets to the auth service fails
// with EMFILE while the gRPC connection it already holds keeps working.

const FD_LIMIT = 40;
const CHECKS = 60;

let cli: CliProcess | undefined;
let client: CheckClient | undefined;
let auth: TestAuthService | undefined;
afterEach(async () => {
  client?.close();
  await cli?.kill();
  await auth?.close();
});

test("EMFILE while connecting to the auth service denies 503 in loose mode; the service's own answers still arrive", async () => {
  const held: http.ServerResponse[] = [];
  auth = await TestAuthService.start((_req, res) => held.push(res));
  const file = writeConfig(
    configYaml(`  - name: r\n    service: { url: "${auth.url}", mode: loose, timeout: 30s, connections: ${CHECKS} }\n`),
  );
  const bin = builtCli();
  cli = new CliProcess(
    spawn('/bin/sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, bin, 'serve', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const { grpcPort } = await cli.serving();
  client = new CheckClient(`127.0.0.1:${grpcPort}`);
  const answers: Summary[] = [];
  const calls = Array.from({ length: CHECKS }, (_, i) =>
    client!.check(checkRequest({ path: `/p/${i}` }), 60_000).then((res) => answers.push(summarize(res))),
  );
  // Every check either holds a socket at the service or has been answered for lack of one.
  await until('every check to be held or answered', () => held.length + answers.length === CHECKS, 30_000);
  const refused = answers.length;
  for (const res of held) res.writeHead(401).end('no');
  await Promise.all(calls);

  expect(answers.filter((a) => a.code === 0)).toEqual([]);
  const local = answers.filter((a) => a.message === 'internal_error');
  expect(local.length).toBe(refused);
  expect(refused).toBeGreaterThan(0);
  for (const a of local) expect(a).toMatchObject({ deniedStatus: 503, deniedHeaders: [['retry-after', '1']] });
  expect(answers.filter((a) => a.message === 'auth_denied' && a.deniedStatus === 401).length).toBe(held.length);
}, 90_000);

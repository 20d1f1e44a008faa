import type { AuthCaller, AuthCallResult } from '../../src/server/auth-client/auth-client';
import { Cancellation } from '../../src/server/auth-client/cancellation';
import { ConcurrencyLimit } from '../../src/server/auth-client/concurrency-limit';
import { DecisionCache } from '../../src/server/auth-client/decision-cache';
import { compileConfig } from '../../src/server/check/compile-config';
import { runCheck, type CheckResult } from '../../src/server/check/run-check';
import { servingConfig, type ServingConfig } from '../../src/server/check/serving-config';
import { FAILURE_MODE_HEADER, type AuthRequest, type CheckRequestMessage } from '../../src/translate';

// The Check pipeline on its own, with a fake auth client standing in for the HTTP pool: each
// rule's service answers from a script keyed by the rule, so a case says what every service
// said and what the check comes to. The pool itself is tested against a real HTTP service in
// test/server/coalescer.test.ts and cancellation.test.ts; the whole path end to end in check.test.ts.

type Script = (req: AuthRequest) => AuthCallResult | Promise<AuthCallResult>;

function answer(status: number, headers: Record<string, string> = {}, body = ''): AuthCallResult {
  return { ok: true, response: { status, headers, body: Buffer.from(body) }, elapsedMs: 1 };
}
const REFUSED: AuthCallResult = { ok: false, cause: 'connect', elapsedMs: 1 };

/** Rules from YAML, each given a fake auth client that records what it was asked. */
async function pipeline(
  rulesYaml: string,
  scripts: Record<string, Script>,
  /** Calls each rule may have in flight; the config's `maxConcurrent` when left out. */
  inFlight?: number,
): Promise<{ config: ServingConfig; asked: string[] }> {
  const compiled = await compileConfig(`rules:\n${rulesYaml}`, 'test.yaml');
  const asked: string[] = [];
  const rules = compiled.rules.map(({ settings, matcher }) => {
    const client: AuthCaller = {
      call: async (req) => {
        asked.push(`${settings.name} ${req.method} ${req.path}`);
        return scripts[settings.name](req);
      },
    };
    return { settings, matcher, client, limit: new ConcurrencyLimit(inFlight ?? settings.service.maxConcurrent) };
  });
  return { config: servingConfig(compiled.settings, rules), asked };
}

function rule(name: string, extra = ''): string {
  return `  - name: ${name}\n    service: { url: "http://127.0.0.1:1", path: /auth }\n${extra}`;
}
const LOOSE = (name: string, extra = ''): string => rule(name, extra).replace('path: /auth }', 'path: /auth, mode: loose }');
const DRY = (name: string, extra = ''): string => rule(name, `    dryRun: true\n${extra}`);
const PUBLIC = '    match: { mode: whitelist, conditions: [ { path: "/public/*" } ] }\n';
const USER_HEADER = '    response: { allowedHeaders: [x-user-id] }\n';

function request(path: string, extra: { rule?: string; headers?: Record<string, string>; method?: string } = {}): CheckRequestMessage {
  return {
    attributes: {
      request: {
        http: {
          method: extra.method ?? 'GET',
          host: 'shop.example',
          path,
          headers: { authorization: 'Bearer t', 'x-request-id': 'req-1', ...extra.headers },
        },
      },
      context_extensions: extra.rule ? { rule: extra.rule } : undefined,
    },
  };
}

/** The decision as one line: kind, reason, rule, and the status of a denial. */
function summary(result: CheckResult): string {
  const d = result.decision;
  return `${d.kind} ${d.reason} rule=${d.rule}${d.kind === 'deny' ? ` ${d.status}` : ''}`;
}

describe('runCheck', () => {
  test.each<[string, string, Record<string, Script>, CheckRequestMessage, string, string[]]>([
    ['an unreadable CheckRequest', rule('a'), {}, { attributes: {} }, 'deny invalid_request rule= 403', []],
    ['a route naming an unknown rule', rule('a'), {}, request('/x', { rule: 'nope' }), 'deny unknown_rule rule=(unknown) 403', []],
    ['a bypass under the one rule in scope', rule('a', PUBLIC), {}, request('/public/p'), 'allow bypass rule=a', []],
    ['a bypass under a pinned rule', rule('a', PUBLIC) + rule('b'), {}, request('/public/p', { rule: 'a' }), 'allow bypass rule=a', []],
    ['a bypass under several rules', rule('a', PUBLIC) + rule('b', PUBLIC), {}, request('/public/p'), 'allow bypass rule=', []],
    ['the auth service allowing', rule('a'), { a: () => answer(200) }, request('/x'), 'allow auth_allowed rule=a', ['a GET /auth/x']],
    ['the auth service denying', rule('a'), { a: () => answer(401) }, request('/x'), 'deny auth_denied rule=a 401', ['a GET /auth/x']],
    [
      'the first rule allowing and the second denying',
      rule('a') + rule('b'),
      { a: () => answer(200), b: () => answer(403) },
      request('/x'),
      'deny auth_denied rule=b 403',
      ['a GET /auth/x', 'b GET /auth/x'],
    ],
    [
      'the first rule denying: the second is never asked',
      rule('a') + rule('b'),
      { a: () => answer(403), b: () => answer(200) },
      request('/x'),
      'deny auth_denied rule=a 403',
      ['a GET /auth/x'],
    ],
    [
      'a loose rule let through, then a rule allowing: still marked failing open',
      LOOSE('a') + rule('b'),
      { a: () => REFUSED, b: () => answer(200) },
      request('/x'),
      'allow unavailable_loose rule=b',
      ['a GET /auth/x', 'b GET /auth/x'],
    ],
    [
      'a strict rule with its service down',
      rule('a'),
      { a: () => REFUSED },
      request('/x'),
      'deny unavailable_strict rule=a 403',
      ['a GET /auth/x'],
    ],
    [
      'a 5xx under a strict rule',
      rule('a'),
      { a: () => answer(503) },
      request('/x'),
      'deny unavailable_strict rule=a 403',
      ['a GET /auth/x'],
    ],
    [
      'the HTTP client refusing the request: the request is at fault, even under a loose rule',
      LOOSE('a'),
      { a: () => ({ ok: false, cause: 'invalid_request', elapsedMs: 0 }) },
      request('/x'),
      'deny invalid_request rule=a 400',
      ['a GET /auth/x'],
    ],
    ['a request that cannot be forwarded faithfully', LOOSE('a'), {}, request('/a b'), 'deny invalid_request rule=a 400', []],
    [
      'a CONNECT, which would open a tunnel instead of asking',
      LOOSE('a'),
      {},
      request('/x', { method: 'CONNECT' }),
      'deny invalid_request rule=a 405',
      [],
    ],
    [
      'a forwarded head over request.maxHeaderBytes, even under a loose rule',
      LOOSE('a', '    request: { maxHeaderBytes: 1024 }\n'),
      {},
      request('/x', { headers: { authorization: 'x'.repeat(2000) } }),
      'deny request_too_large rule=a 431',
      [],
    ],
    [
      'a dry-run rule denying beside an enforcing rule allowing: allowed, counted under the dry run',
      DRY('a') + rule('b'),
      { a: () => answer(403), b: () => answer(200) },
      request('/x'),
      'allow dry_run_denied rule=a',
      ['a GET /auth/x', 'b GET /auth/x'],
    ],
    [
      'a dry-run rule allowing and an enforcing rule denying: the enforcing rule denies',
      DRY('a') + rule('b'),
      { a: () => answer(200), b: () => answer(403) },
      request('/x'),
      'deny auth_denied rule=b 403',
      ['a GET /auth/x', 'b GET /auth/x'],
    ],
    [
      'a dry-run rule whose service is down (unavailable_strict)',
      DRY('a'),
      { a: () => REFUSED },
      request('/x'),
      'allow dry_run_denied rule=a',
      ['a GET /auth/x'],
    ],
    [
      'a dry-run rule over request.maxHeaderBytes',
      DRY('a', '    request: { maxHeaderBytes: 1024 }\n'),
      {},
      request('/x', { headers: { authorization: 'x'.repeat(2000) } }),
      'allow dry_run_denied rule=a',
      [],
    ],
    [
      'a caller that went away under a dry-run rule: still cancelled, never a dry-run allow',
      DRY('a'),
      { a: () => ({ ok: false, cause: 'cancelled', elapsedMs: 0 }) },
      request('/x'),
      'deny cancelled rule=a 403',
      ['a GET /auth/x'],
    ],
    [
      'a caller that went away, even under a loose rule',
      LOOSE('a'),
      { a: () => ({ ok: false, cause: 'cancelled', elapsedMs: 0 }) },
      request('/x'),
      'deny cancelled rule=a 403',
      ['a GET /auth/x'],
    ],
  ])('%s', async (_name, rules, scripts, msg, expected, asked) => {
    const p = await pipeline(rules, scripts);
    expect(summary(await runCheck(p.config, msg, new Cancellation()))).toBe(expected);
    expect(p.asked).toEqual(asked);
  });

  // The headers to strip span every rule of the config, each with its `-`/`_` twin (vouched-headers.ts).
  const FAILURE_MODE_TWIN = FAILURE_MODE_HEADER.replaceAll('-', '_');

  test('an allow sets what each service vouched for and strips every other header a rule could set', async () => {
    const p = await pipeline(rule('a', USER_HEADER) + rule('b', '    response: { allowedHeaders: [x-role] }\n'), {
      a: () => answer(200, { 'x-user-id': 'u1' }),
      b: () => answer(200),
    });
    const { decision } = await runCheck(
      p.config,
      request('/x', { headers: { 'x-user-id': 'forged', 'x-role': 'admin' } }),
      new Cancellation(),
    );
    expect(decision).toEqual({
      kind: 'allow',
      reason: 'auth_allowed',
      rule: 'b',
      headersToSet: [['x-user-id', 'u1']],
      headersToRemove: [FAILURE_MODE_HEADER, FAILURE_MODE_TWIN, 'x_user_id', 'x-role', 'x_role'],
    });
  });

  test('a bypass strips every header any rule could vouch for, in scope or not, so a client copy never passes', async () => {
    const p = await pipeline(rule('a', PUBLIC) + rule('b', USER_HEADER), {});
    const { decision } = await runCheck(
      p.config,
      request('/public/p', { rule: 'a', headers: { 'x-user-id': 'forged' } }),
      new Cancellation(),
    );
    expect(decision).toMatchObject({
      kind: 'allow',
      reason: 'bypass',
      rule: 'a',
      headersToSet: [],
      headersToRemove: [FAILURE_MODE_HEADER, FAILURE_MODE_TWIN, 'x-user-id', 'x_user_id'],
    });
  });

  test("a rule's bound on calls in flight reached: overloaded, denied even under a loose rule, the service never asked", async () => {
    const p = await pipeline(LOOSE('a'), { a: () => answer(200) }, 0);
    const result = await runCheck(p.config, request('/x'), new Cancellation());
    expect(summary(result)).toBe('deny overloaded rule=a 503');
    expect(result.decision.kind === 'deny' && result.decision.headers).toEqual([['retry-after', '1']]);
    expect(result.calls).toEqual([{ rule: 'a', unavailable: 'overload', elapsedMs: 0 }]);
    expect(p.asked).toEqual([]);
  });

  test('records each call for metrics and the log line, and keeps the request id', async () => {
    const p = await pipeline(LOOSE('a') + rule('b'), { a: () => answer(502), b: () => answer(200) });
    const result = await runCheck(p.config, request('/x'), new Cancellation());
    expect(result.requestId).toBe('req-1');
    expect(result.calls).toEqual([
      { rule: 'a', status: 502, unavailable: '5xx', elapsedMs: 1 },
      { rule: 'b', status: 200, unavailable: undefined, elapsedMs: 1 },
    ]);
  });

  test('a cached allow answers every hit with one frozen decision, equal to the first; a cached denial is resolved on each hit', async () => {
    const status = { a: 200 };
    const p = await pipeline(
      rule('a', `${USER_HEADER}    cache: { ttl: 60s }\n`) +
        rule('b', `    match: { mode: blacklist, conditions: [ { path: "/admin/*" } ] }\n${USER_HEADER}`),
      {
        a: () => answer(status.a, status.a === 200 ? { 'x-user-id': 'u1' } : {}, status.a === 200 ? '' : 'no'),
      },
    );
    const cached = servingConfig(
      p.config.settings,
      p.config.rules.map((r) => (r.settings.cache ? { ...r, cache: new DecisionCache(r.settings.cache) } : r)),
    );
    const first = await runCheck(cached, request('/x'), new Cancellation());
    const hits = [await runCheck(cached, request('/x'), new Cancellation()), await runCheck(cached, request('/x'), new Cancellation())];
    expect(p.asked).toEqual(['a GET /auth/x']);
    expect(hits.map((h) => h.calls)).toEqual([
      [{ rule: 'a', elapsedMs: 0, shared: 'cache' }],
      [{ rule: 'a', elapsedMs: 0, shared: 'cache' }],
    ]);
    expect(hits[0].decision).toEqual(first.decision);
    expect(hits[0].decision).toMatchObject({
      headersToSet: [['x-user-id', 'u1']],
      headersToRemove: [FAILURE_MODE_HEADER, FAILURE_MODE_TWIN, 'x_user_id'],
    });
    expect(hits[1].decision).toBe(hits[0].decision);
    expect(Object.isFrozen(hits[0].decision)).toBe(true);

    status.a = 401;
    const denied = await runCheck(cached, request('/y'), new Cancellation());
    const deniedHits = [
      await runCheck(cached, request('/y'), new Cancellation()),
      await runCheck(cached, request('/y'), new Cancellation()),
    ];
    expect(summary(denied)).toBe('deny auth_denied rule=a 401');
    expect(deniedHits.map(summary)).toEqual(['deny auth_denied rule=a 401', 'deny auth_denied rule=a 401']);
    expect(deniedHits[1].decision).toEqual(deniedHits[0].decision);
    expect(deniedHits[1].decision).not.toBe(deniedHits[0].decision);
  });

  test('a step that throws is an internal_error denial that keeps the request id and the error', async () => {
    const bug = new Error('bug in a step');
    const p = await pipeline(rule('a'), {
      a: () => {
        throw bug;
      },
    });
    const result = await runCheck(p.config, request('/x'), new Cancellation());
    expect(summary(result)).toBe('deny internal_error rule= 403');
    expect(result.requestId).toBe('req-1');
    expect(result.error).toBe(bug);
  });
});

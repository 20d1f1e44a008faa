import { interpretAuthResponse, type AuthResponse } from '../../src/translate';
import { ruleSettings } from './helpers';

// interpretAuthResponse: the auth service's answer, before the rule's mode applies.

const settings = ruleSettings('    response: { allowedHeaders: [x-user-id, x-role] }\n').response;

function answer(status: number, headers: AuthResponse['headers'] = {}, body = '', truncated = false): AuthResponse {
  return { status, headers, body: Buffer.from(body), truncated };
}

describe('interpretAuthResponse', () => {
  test.each<[string, AuthResponse, string]>([
    ['200 without the result header', answer(200), 'allow'],
    ['200 with the result header "true"', answer(200, { 'x-mse-external-authz-check-result': ' TRUE ' }), 'allow'],
    ['200 with the result header "false"', answer(200, { 'x-mse-external-authz-check-result': 'false' }), 'deny result_header_false'],
    [
      '200 with an unrecognized result header (fail closed)',
      answer(200, { 'x-mse-external-authz-check-result': 'yes' }),
      'deny result_header_false',
    ],
    ['401', answer(401), 'deny auth_denied'],
    ['403', answer(403), 'deny auth_denied'],
    ['302', answer(302, { location: '/login' }), 'deny auth_denied'],
    ['429', answer(429), 'deny auth_denied'],
    ['500', answer(500), 'unavailable 5xx'],
    ['503', answer(503), 'unavailable 5xx'],
  ])('%s: %s', (_name, res, expected) => {
    const outcome = interpretAuthResponse(settings, res);
    const got =
      outcome.kind === 'deny' ? `deny ${outcome.reason}` : outcome.kind === 'unavailable' ? `unavailable ${outcome.cause}` : 'allow';
    expect(got).toBe(expected);
  });

  test('an allow copies the allowed headers it got and removes the ones it did not', () => {
    const outcome = interpretAuthResponse(settings, answer(200, { 'x-user-id': 'u1', 'x-other': 'o' }));
    expect(outcome).toEqual({ kind: 'allow', headersToSet: [['x-user-id', 'u1']], headersToRemove: ['x-role'] });
  });

  test('a denial keeps status, body and headers, but neither hop-by-hop headers nor content-length', () => {
    const outcome = interpretAuthResponse(
      settings,
      answer(401, { 'www-authenticate': 'Bearer', connection: 'close', 'content-length': '2', 'set-cookie': ['a=1', 'b=2'] }, 'no'),
    );
    expect(outcome).toMatchObject({ kind: 'deny', status: 401, body: Buffer.from('no') });
    expect(outcome.kind === 'deny' && outcome.headers).toEqual([
      ['www-authenticate', 'Bearer'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
  });

  test('a denial body that is not UTF-8 is dropped with its content-encoding; a cut one loses only the cut character', () => {
    const gzip = interpretAuthResponse(settings, {
      status: 403,
      headers: { 'content-encoding': 'gzip' },
      body: Buffer.from([0x1f, 0x8b, 0xff]),
    });
    expect(gzip).toMatchObject({ kind: 'deny', headers: [], body: Buffer.alloc(0) });
    const cut = Buffer.from('ok é').subarray(0, 4);
    const truncated = interpretAuthResponse(settings, { status: 403, headers: {}, body: cut, truncated: true });
    expect(truncated.kind === 'deny' && truncated.body.toString()).toBe('ok ');
  });
});

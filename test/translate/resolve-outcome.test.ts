import { FAILURE_MODE_HEADER, resolveOutcome, type AuthOutcome, type Decision } from '../../src/translate';
import { ruleSettings } from './helpers';

// resolveOutcome: the rule's mode applied to what the auth service said (or did not say).

const allow: AuthOutcome = { kind: 'allow', headersToSet: [['x-user-id', 'u1']], headersToRemove: [] };
const deny: AuthOutcome = {
  kind: 'deny',
  reason: 'auth_denied',
  status: 401,
  headers: [['www-authenticate', 'Bearer']],
  body: Buffer.from('no'),
};
const down: AuthOutcome = { kind: 'unavailable', cause: 'timeout' };

function rule(mode: 'loose' | 'strict') {
  return ruleSettings(
    '    response: { allowedHeaders: [x-user-id] }\n',
    `{ url: "http://127.0.0.1:1", mode: ${mode}, statusOnError: 503 }`,
  );
}

describe('resolveOutcome', () => {
  test.each<['loose' | 'strict', AuthOutcome, Decision]>([
    ['strict', allow, { kind: 'allow', reason: 'auth_allowed', rule: 'r', headersToSet: [['x-user-id', 'u1']], headersToRemove: [] }],
    ['loose', allow, { kind: 'allow', reason: 'auth_allowed', rule: 'r', headersToSet: [['x-user-id', 'u1']], headersToRemove: [] }],
    [
      'strict',
      deny,
      { kind: 'deny', reason: 'auth_denied', rule: 'r', status: 401, headers: [['www-authenticate', 'Bearer']], body: Buffer.from('no') },
    ],
    [
      'loose',
      deny,
      { kind: 'deny', reason: 'auth_denied', rule: 'r', status: 401, headers: [['www-authenticate', 'Bearer']], body: Buffer.from('no') },
    ],
    ['strict', down, { kind: 'deny', reason: 'unavailable_strict', rule: 'r', status: 503, headers: [], body: Buffer.alloc(0) }],
    // No answer, no identity: what the service would have set is stripped, and the request is marked.
    [
      'loose',
      down,
      {
        kind: 'allow',
        reason: 'unavailable_loose',
        rule: 'r',
        headersToSet: [[FAILURE_MODE_HEADER, 'true']],
        headersToRemove: ['x-user-id'],
      },
    ],
  ])('%s mode, %o', (mode, outcome, expected) => {
    expect(resolveOutcome(rule(mode), outcome)).toEqual(expected);
  });
});

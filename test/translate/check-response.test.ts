import { GRPC_OK, GRPC_PERMISSION_DENIED, GRPC_UNAUTHENTICATED, toCheckResponse, type Decision } from '../../src/translate';

// toCheckResponse: the one mapping from a Decision to the wire.

describe('toCheckResponse', () => {
  test('an allow overwrites the headers it sets and lists the ones to remove', () => {
    const res = toCheckResponse({
      kind: 'allow',
      reason: 'auth_allowed',
      rule: 'r',
      headersToSet: [['x-user-id', 'u1']],
      headersToRemove: ['x-role'],
    });
    expect(res).toEqual({
      status: { code: GRPC_OK },
      ok_response: {
        headers: [{ header: { key: 'x-user-id', value: 'u1' }, append: { value: false }, append_action: 2 }],
        headers_to_remove: ['x-role'],
      },
      // Always: the rule and reason of the decision (issue 14).
      dynamic_metadata: { fields: { rule: { stringValue: 'r' }, reason: { stringValue: 'auth_allowed' } } },
    });
  });

  test.each<[number, number]>([
    [401, GRPC_UNAUTHENTICATED],
    [403, GRPC_PERMISSION_DENIED],
    [431, GRPC_PERMISSION_DENIED],
    [503, GRPC_PERMISSION_DENIED],
  ])('a denial with status %i is a successful RPC with code %i, the reason as its message', (status, code) => {
    const decision: Decision = { kind: 'deny', reason: 'auth_denied', rule: 'r', status, headers: [], body: Buffer.from('no') };
    expect(toCheckResponse(decision)).toEqual({
      status: { code, message: 'auth_denied' },
      denied_response: { status: { code: status }, headers: [], body: 'no' },
      dynamic_metadata: { fields: { rule: { stringValue: 'r' }, reason: { stringValue: 'auth_denied' } } },
    });
  });

  test('a denial header repeated (set-cookie) is appended after the first overwrites', () => {
    const decision: Decision = {
      kind: 'deny',
      reason: 'auth_denied',
      rule: 'r',
      status: 401,
      headers: [
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ],
      body: Buffer.alloc(0),
    };
    expect(toCheckResponse(decision).denied_response?.headers.map((h) => [h.header.value, h.append.value, h.append_action])).toEqual([
      ['a=1', false, 2],
      ['b=2', true, 0],
    ]);
  });
});

test('an allow cannot carry a denial reason: Decision narrows reason per variant (checked by the compiler)', () => {
  // @ts-expect-error auth_denied is a reason only a denial may carry.
  const wrong: Decision = { kind: 'allow', reason: 'auth_denied', rule: 'r', headersToSet: [], headersToRemove: [] };
  // @ts-expect-error bypass is a reason only an allow may carry.
  const alsoWrong: Decision = { kind: 'deny', reason: 'bypass', rule: 'r', status: 403, headers: [], body: Buffer.alloc(0) };
  expect([wrong.kind, alsoWrong.kind]).toEqual(['allow', 'deny']);
});

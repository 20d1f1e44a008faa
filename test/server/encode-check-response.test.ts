import { checkServiceDefinition } from '../../src/client';
import { encodeCheckResponse } from '../../src/server/protos';
import { toCheckResponse, type CheckResponseMessage, type Decision } from '../../src/translate';

// The answer's bytes: a shared (frozen) dynamic_metadata struct is encoded once and appended
// (protos.ts). Whatever the path, the bytes must be exactly those of encoding the whole message,
// and read back by a client on Envoy's protos as the same CheckResponse.

const decisions: Decision[] = [
  { kind: 'allow', reason: 'bypass', rule: 'api', headersToSet: [], headersToRemove: ['x-user-id', 'x_user_id'] },
  {
    kind: 'allow',
    reason: 'auth_allowed',
    rule: 'api',
    headersToSet: [['x-user-id', 'u1']],
    headersToRemove: ['x-role'],
    headersToAppend: [['x-groups', 'a']],
    clientHeaders: [['set-cookie', 's=1']],
    metadata: { 'x-user-id': 'u1' },
  },
  { kind: 'deny', reason: 'auth_denied', rule: 'api', status: 401, headers: [['www-authenticate', 'Bearer']], body: Buffer.from('no ✓') },
  { kind: 'deny', reason: 'unknown_rule', rule: '(unknown)', status: 403, headers: [], body: Buffer.alloc(0) },
];

/** The same message with an unshared copy of its struct: encoded whole. */
function unshared(message: CheckResponseMessage): CheckResponseMessage {
  return { ...message, dynamic_metadata: structuredClone(message.dynamic_metadata) };
}

describe('encodeCheckResponse', () => {
  test.each(decisions.map((d) => [`${d.kind} ${d.reason}`, d] as const))(
    '%s: the same bytes as encoding the whole message',
    (_name, decision) => {
      const message = toCheckResponse(decision);
      expect(Object.isFrozen(message.dynamic_metadata)).toBe(decision.metadata === undefined);
      const whole = encodeCheckResponse(unshared(message));
      expect(encodeCheckResponse(message).equals(whole)).toBe(true);
      // Twice: the second answer uses the struct encoded by the first.
      expect(encodeCheckResponse(toCheckResponse(decision)).equals(whole)).toBe(true);

      const read = checkServiceDefinition().Check.responseDeserialize(encodeCheckResponse(message));
      expect(read.dynamic_metadata?.fields?.rule).toMatchObject({ stringValue: decision.rule });
      expect(read.dynamic_metadata?.fields?.reason).toMatchObject({ stringValue: decision.reason });
    },
  );

  test('a message without dynamic_metadata (a client of this module that sets none) is encoded whole', () => {
    const message = { status: { code: 0 }, ok_response: { headers: [], headers_to_remove: [] } } as unknown as CheckResponseMessage;
    expect(encodeCheckResponse(message).length).toBeGreaterThan(0);
  });

  test('a struct without service metadata is shared by every answer of its rule and reason, and only those', () => {
    const a = toCheckResponse(decisions[0]).dynamic_metadata;
    expect(toCheckResponse({ ...decisions[0] }).dynamic_metadata).toBe(a);
    expect(toCheckResponse({ ...decisions[0], rule: 'other' }).dynamic_metadata).not.toBe(a);
    expect(toCheckResponse({ ...decisions[0], rule: 'other' }).dynamic_metadata.fields.rule.stringValue).toBe('other');
  });
});

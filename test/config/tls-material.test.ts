import { Issues, checkCaFile, checkCertAndKey, type PemFile } from '../../src/config';
import { TestCa, type Pem } from '../helpers/test-ca';

// The pure checks of src/config/tls-material.ts, with the clock passed in: a certificate made
// valid for a day is checked a day before, during and after that day.

let ca: TestCa;
let leaf: Pem;
let other: Pem;
const HOUR = 3600_000;
// An hour into the day the certificates are valid for: openssl starts that day at the whole
// second they were made, which can be after any clock reading taken before they were made.
let now: Date;
beforeAll(() => {
  ca = TestCa.create('Material Test CA');
  leaf = ca.issue('leaf');
  other = ca.issue('other');
  now = new Date(Date.now() + HOUR);
}, 30_000);
const cert = (pem: Buffer): PemFile => ({ keyPath: 'grpc.tls.cert', file: '/etc/tls/server.crt', pem });
const key = (pem: Buffer): PemFile => ({ keyPath: 'grpc.tls.key', file: '/etc/tls/server.key', pem });
const caFile = (pem: Buffer): PemFile => ({ keyPath: 'grpc.tls.clientCa', file: '/etc/tls/ca.crt', pem });

function caIssues(pem: Buffer, at: Date = now): string[] {
  const issues = new Issues();
  checkCaFile(caFile(pem), at, issues);
  return issues.list.map((i) => `${i.path}: ${i.message}`);
}

function pairIssues(c: Buffer, k: Buffer, at: Date = now): string[] {
  const issues = new Issues();
  checkCertAndKey(cert(c), key(k), at, issues);
  return issues.list.map((i) => `${i.path}: ${i.message}`);
}

describe('a CA file', () => {
  test.each([
    ['whole', () => ca.pem.cert, []],
    ['a bundle of two', () => Buffer.concat([ca.pem.cert, leaf.cert]), []],
  ])('%s is accepted', (_name, pem, expected) => {
    expect(caIssues(pem())).toEqual(expected);
  });

  test.each([
    ['cut to 300 bytes', () => ca.pem.cert.subarray(0, 300), /"\/etc\/tls\/ca.crt" PEM block 1 \(CERTIFICATE, line 1\) is cut off/],
    ['empty', () => Buffer.alloc(0), /"\/etc\/tls\/ca.crt" holds no PEM certificate/],
    ['a key, not a certificate', () => leaf.key, /holds no PEM certificate/],
    ['a bundle whose second block is cut', () => Buffer.concat([ca.pem.cert, leaf.cert.subarray(0, 200)]), /PEM block 2 .* is cut off/],
    [
      'a block with garbage inside',
      () => Buffer.from('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'),
      /PEM block 1 \(line 1\) is not a readable certificate/,
    ],
  ])('%s is refused, naming the key path and the file', (_name, pem, message) => {
    const list = caIssues(pem());
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^grpc\.tls\.clientCa: /);
    expect(list[0]).toMatch(message);
  });

  test('is refused when no certificate in it is valid at the time given', () => {
    expect(caIssues(ca.pem.cert, new Date(now.getTime() + 48 * HOUR))[0]).toMatch(/no certificate in it is valid now: .* expired at/);
    expect(caIssues(ca.pem.cert, new Date(now.getTime() - 48 * HOUR))[0]).toMatch(/is not valid before/);
  });
});

describe('a certificate and its key', () => {
  test('a matching pair valid now is accepted', () => {
    expect(pairIssues(leaf.cert, leaf.key)).toEqual([]);
  });

  test.each([
    [
      'expired',
      () => pairIssues(leaf.cert, leaf.key, new Date(now.getTime() + 48 * HOUR)),
      /^grpc\.tls\.cert: "\/etc\/tls\/server\.crt": the certificate "CN=leaf" expired at .*; renew it$/,
    ],
    [
      'not yet valid',
      () => pairIssues(leaf.cert, leaf.key, new Date(now.getTime() - 48 * HOUR)),
      /^grpc\.tls\.cert: .* is not valid before /,
    ],
    [
      'a key from another pair',
      () => pairIssues(leaf.cert, other.key),
      /^grpc\.tls\.key: "\/etc\/tls\/server\.key" is not the private key of the certificate in "\/etc\/tls\/server\.crt"/,
    ],
    [
      'a key that is not a key',
      () => pairIssues(leaf.cert, Buffer.from('garbage')),
      /^grpc\.tls\.key: .* is not a readable, unencrypted PEM private key/,
    ],
    ['a cut certificate', () => pairIssues(leaf.cert.subarray(0, 100), leaf.key), /^grpc\.tls\.cert: .* is cut off/],
  ])('%s is refused', (_name, run, message) => {
    const list = run();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(message);
  });
});

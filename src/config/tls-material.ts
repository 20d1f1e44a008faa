import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { Issues, keyPath } from './issues';
import { checkCaFile, checkCertAndKey } from './tls-checks';
import type { AdapterSettings, RuleSettings } from './types';

/** The gRPC listener's certificate, key and (for mTLS) client CA, as read from `grpc.tls`. */
export interface GrpcTlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer;
}

/** TLS material read from the files named in `service.tls`, so a reload picks up new certificates. */
export interface ServiceTlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly serverName?: string;
}

/**
 * Reads and checks `grpc.tls` as TLS material at `now` (tls-checks.ts). A key that does not match
 * its certificate, an expired certificate or a client CA with no usable certificate would make
 * grpc-js refuse every new connection, so each is a config error like any other.
 */
export async function readGrpcTls(settings: AdapterSettings, issues: Issues, now: Date): Promise<GrpcTlsMaterial | undefined> {
  const tls = settings.grpc.tls;
  if (!tls) return undefined;
  const [cert, key, clientCa] = await Promise.all([
    readPem(tls.cert, 'grpc.tls.cert', issues),
    readPem(tls.key, 'grpc.tls.key', issues),
    readPem(tls.clientCa, 'grpc.tls.clientCa', issues),
  ]);
  if (!cert || !key) return undefined;
  const found = issues.list.length;
  if (tls.clientCa && clientCa) checkCaFile({ keyPath: 'grpc.tls.clientCa', file: tls.clientCa, pem: clientCa }, now, issues);
  checkCertAndKey(
    { keyPath: 'grpc.tls.cert', file: tls.cert, pem: cert },
    { keyPath: 'grpc.tls.key', file: tls.key, pem: key },
    now,
    issues,
  );
  // Also as Node's TLS context sees the three together, which is what grpc-js will be given.
  const problem = unusable(cert, key, clientCa);
  if (problem) issues.add('grpc.tls', `the certificate, key or client CA cannot be used: ${problem}`);
  return issues.list.length > found ? undefined : { cert, key, clientCa };
}

/**
 * Reads and checks a rule's `service.tls` at `now`; unusable material is refused here rather than
 * fail every call (or, in loose mode, let every check through).
 */
export async function readServiceTls(
  rule: RuleSettings,
  rulePath: string,
  issues: Issues,
  now: Date,
): Promise<ServiceTlsMaterial | undefined> {
  const tls = rule.service.tls;
  if (!tls) return undefined;
  const path = keyPath(keyPath(rulePath, 'service'), 'tls');
  const [ca, cert, key] = await Promise.all([
    readPem(tls.ca, keyPath(path, 'ca'), issues),
    readPem(tls.cert, keyPath(path, 'cert'), issues),
    readPem(tls.key, keyPath(path, 'key'), issues),
  ]);
  if (tls.ca && ca) checkCaFile({ keyPath: keyPath(path, 'ca'), file: tls.ca, pem: ca }, now, issues);
  if (tls.cert && tls.key && cert && key) {
    checkCertAndKey(
      { keyPath: keyPath(path, 'cert'), file: tls.cert, pem: cert },
      { keyPath: keyPath(path, 'key'), file: tls.key, pem: key },
      now,
      issues,
    );
  }
  const problem = unusable(cert, key, ca);
  if (problem) issues.add(path, `the CA, certificate or key cannot be used: ${problem}`);
  return { ca, cert, key, serverName: tls.serverName };
}

async function readPem(file: string | undefined, path: string, issues: Issues): Promise<Buffer | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    issues.add(path, `cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
}

/**
 * Why the material cannot be used, or undefined. Node's TLS context parses a certificate with its
 * key; a CA it would silently ignore when it is not PEM, so that is parsed on its own.
 */
function unusable(cert: Buffer | undefined, key: Buffer | undefined, ca: Buffer | undefined): string | undefined {
  try {
    if (ca) new X509Certificate(ca);
    if (cert && key) createSecureContext({ cert, key });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

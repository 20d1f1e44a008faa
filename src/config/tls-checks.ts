import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Issues } from './issues';

/**
 * TLS files checked as TLS material, not as bytes: a CA bundle cut short, an empty client CA, an
 * expired certificate or a key from another pair all load as files and parse as PEM well enough
 * for Node to start, and then refuse every handshake (or, in loose mode, let every check through).
 * Pure: tls-material.ts reads the files and passes the clock, so `validate`, startup and reload
 * all apply the same checks and tests can move time.
 */

/** A file's bytes, with the key path that named it and the path it was read from. */
export interface PemFile {
  readonly keyPath: string;
  readonly file: string;
  readonly pem: Buffer;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** The certificates of a PEM file, or what is wrong with it; every CERTIFICATE block must be whole and readable. */
export function readCertificates(pem: Buffer): X509Certificate[] | string {
  const text = pem.toString('latin1');
  const certs: X509Certificate[] = [];
  let block = 0;
  for (const begin of text.matchAll(BEGIN)) {
    block++;
    const label = begin[1];
    const start = begin.index ?? 0;
    const endLine = `-----END ${label}-----`;
    const end = text.indexOf(endLine, start);
    const line = text.slice(0, start).split('\n').length;
    if (end === -1) return `PEM block ${block} (${label}, line ${line}) is cut off: it has no "${endLine}" line`;
    if (label !== 'CERTIFICATE') continue;
    try {
      certs.push(new X509Certificate(text.slice(start, end + endLine.length)));
    } catch (err) {
      return `PEM block ${block} (line ${line}) is not a readable certificate: ${(err as Error).message}`;
    }
  }
  if (certs.length === 0) return 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----" block)';
  return certs;
}

/** Why `cert` cannot be used at `now`, if it cannot. */
export function validityProblem(cert: X509Certificate, now: Date): string | undefined {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  const subject = cert.subject.replace(/\n/g, ', ');
  if (now < from) return `the certificate "${subject}" is not valid before ${from.toISOString()} (now ${now.toISOString()})`;
  if (now > to) return `the certificate "${subject}" expired at ${to.toISOString()} (now ${now.toISOString()})`;
  return undefined;
}

/** A CA bundle: at least one certificate, every block readable, and at least one valid now. */
export function checkCaFile(ca: PemFile, now: Date, issues: Issues): void {
  const certs = readCertificates(ca.pem);
  if (typeof certs === 'string') {
    issues.add(ca.keyPath, `${JSON.stringify(ca.file)} ${certs}; give a file of PEM CA certificates`);
    return;
  }
  const problems = certs.map((c) => validityProblem(c, now));
  if (problems.every((p) => p !== undefined)) {
    issues.add(ca.keyPath, `${JSON.stringify(ca.file)}: no certificate in it is valid now: ${problems.join('; ')}`);
  }
}

/**
 * A certificate (with its chain) and its private key: every certificate in the file valid now,
 * and the key the first one's.
 */
export function checkCertAndKey(cert: PemFile, key: PemFile, now: Date, issues: Issues): void {
  const certs = readCertificates(cert.pem);
  if (typeof certs === 'string') {
    issues.add(cert.keyPath, `${JSON.stringify(cert.file)} ${certs}; give a PEM certificate`);
  } else {
    for (const c of certs) {
      const problem = validityProblem(c, now);
      if (problem) issues.add(cert.keyPath, `${JSON.stringify(cert.file)}: ${problem}; renew it`);
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key.pem);
  } catch (err) {
    issues.add(key.keyPath, `${JSON.stringify(key.file)} is not a readable, unencrypted PEM private key: ${(err as Error).message}`);
    return;
  }
  if (typeof certs !== 'string' && !certs[0].checkPrivateKey(privateKey)) {
    issues.add(
      key.keyPath,
      `${JSON.stringify(key.file)} is not the private key of the certificate in ${JSON.stringify(cert.file)}; give the key it was issued for`,
    );
  }
}

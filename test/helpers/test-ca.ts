import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** PEM files on disk, and their bytes for clients. */
export interface Pem {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

function read(certFile: string, keyFile: string): Pem {
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

/** A throwaway certificate authority made with the openssl CLI, valid for a day. */
export class TestCa {
  private serial = 1;

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly pem: Pem,
  ) {}

  static create(name: string, dir = mkdtempSync(path.join(tmpdir(), 'ext-authz-ca-'))): TestCa {
    const base = name.replace(/\W/g, '-');
    openssl(
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', `${base}.key`, '-out', `${base}.crt`, '-days', '1', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    return new TestCa(dir, name, read(path.join(dir, `${base}.crt`), path.join(dir, `${base}.key`)));
  }

  /** A leaf for server and client use; `sans` like ["DNS:localhost", "IP:127.0.0.1"]. */
  issue(commonName: string, sans: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1']): Pem {
    const base = `${commonName.replace(/\W/g, '-')}-${this.serial}`;
    const ext = path.join(this.dir, `${base}.ext`);
    writeFileSync(
      ext,
      [`subjectAltName=${sans.join(',')}`, 'basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth,clientAuth', ''].join('\n'),
    );
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${commonName}`],
      this.dir,
    );
    openssl(
      [
        'x509', '-req', '-in', `${base}.csr`, '-CA', this.pem.certFile, '-CAkey', this.pem.keyFile,
        '-set_serial', String(this.serial++), '-out', `${base}.crt`, '-days', '1', '-extfile', ext,
      ],
      this.dir,
    );
    return read(path.join(this.dir, `${base}.crt`), path.join(this.dir, `${base}.key`));
  }
}

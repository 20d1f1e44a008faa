import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.crt`,
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    return new TestCa(dir, name, read(path.join(dir, `${base}.crt`), path.join(dir, `${base}.key`)));
  }

  /** A leaf for server and client use; `sans` like ["DNS:localhost", "IP:127.0.0.1"]. */
  issue(commonName: string, sans: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1']): Pem {
    const { base, ext } = this.request(commonName, sans);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        this.pem.certFile,
        '-CAkey',
        this.pem.keyFile,
        '-set_serial',
        String(this.serial++),
        '-out',
        `${base}.crt`,
        '-days',
        '1',
        '-extfile',
        ext,
      ],
      this.dir,
    );
    return read(path.join(this.dir, `${base}.crt`), path.join(this.dir, `${base}.key`));
  }

  /**
   * A leaf valid only from `notBefore` to `notAfter` (openssl dates: YYYYMMDDHHMMSSZ), to make
   * certificates that expired or are not valid yet; `openssl ca` is the CLI that sets both.
   */
  issueValid(commonName: string, notBefore: string, notAfter: string, sans: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1']): Pem {
    const { base, ext } = this.request(commonName, sans);
    this.serial++;
    const cnf = path.join(this.dir, 'ca.cnf');
    writeFileSync(
      cnf,
      [
        '[ca]',
        'default_ca = this',
        '[this]',
        'database = index.txt',
        'new_certs_dir = .',
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        'serial = serial',
        '[any]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    if (!existsSync(path.join(this.dir, 'index.txt'))) writeFileSync(path.join(this.dir, 'index.txt'), '');
    // openssl ca takes the serial from this file, in hex.
    writeFileSync(path.join(this.dir, 'serial'), `${this.serial.toString(16).padStart(4, '0')}\n`);
    openssl(
      [
        'ca',
        '-batch',
        '-config',
        cnf,
        '-cert',
        this.pem.certFile,
        '-keyfile',
        this.pem.keyFile,
        '-in',
        `${base}.csr`,
        '-out',
        `${base}.crt`,
        '-startdate',
        notBefore,
        '-enddate',
        notAfter,
        '-extfile',
        ext,
        '-notext',
      ],
      this.dir,
    );
    return read(path.join(this.dir, `${base}.crt`), path.join(this.dir, `${base}.key`));
  }

  private request(commonName: string, sans: readonly string[]): { base: string; ext: string } {
    const base = `${commonName.replace(/\W/g, '-')}-${this.serial}`;
    const ext = path.join(this.dir, `${base}.ext`);
    writeFileSync(
      ext,
      [
        `subjectAltName=${sans.join(',')}`,
        'basicConstraints=CA:FALSE',
        'keyUsage=digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        '',
      ].join('\n'),
    );
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
        '-subj',
        `/CN=${commonName}`,
      ],
      this.dir,
    );
    return { base, ext };
  }
}

import * as grpc from '@grpc/grpc-js';
import type { GrpcTlsMaterial } from '../../config';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * Certificates held in memory and pushed to grpc-js on reload. grpc-js's certificate-provider
 * credentials call `setSecureContext` on the bound HTTP/2 server, so new connections use the new
 * material without rebinding the port (and connections already open keep theirs).
 */
class ReloadableCertificates implements grpc.experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(private material: GrpcTlsMaterial) {}

  update(material: GrpcTlsMaterial): void {
    this.material = material;
    for (const l of this.caListeners) l(this.caUpdate());
    for (const l of this.identityListeners) l(this.identityUpdate());
  }

  // grpc-js registers its own watcher only after adding these listeners, so the first update must come later.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): grpc.experimental.CaCertificateUpdate | null {
    return this.material.clientCa ? { caCertificate: this.material.clientCa } : null;
  }

  private identityUpdate(): grpc.experimental.IdentityCertificateUpdate {
    return { certificate: this.material.cert, privateKey: this.material.key };
  }
}

/** The gRPC listener's credentials, and how to give them new certificates. */
export interface GrpcCredentials {
  readonly credentials: grpc.ServerCredentials;
  /** Whether it was bound with TLS, and with client certificates required. */
  readonly mode: TlsMode;
  update(material: GrpcTlsMaterial | undefined): void;
}

export type TlsMode = 'plaintext' | 'tls' | 'mtls';

export function tlsMode(material: GrpcTlsMaterial | undefined): TlsMode {
  if (!material) return 'plaintext';
  return material.clientCa ? 'mtls' : 'tls';
}

export function createGrpcCredentials(material: GrpcTlsMaterial | undefined): GrpcCredentials {
  const mode = tlsMode(material);
  if (!material) return { credentials: grpc.ServerCredentials.createInsecure(), mode, update: () => undefined };
  const certificates = new ReloadableCertificates(material);
  // grpc-js names these parameters the other way round; the first is used for the identity, the second for the CA.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    certificates,
    material.clientCa ? certificates : null,
    material.clientCa !== undefined,
  );
  return {
    credentials,
    mode,
    update: (next) => {
      if (next) certificates.update(next);
    },
  };
}

import {
  durationMs,
  findObject,
  K8S_FILES,
  parseAdapterConfig,
  parseManifests,
  readManifests,
  readYaml,
  type K8sObject,
} from './deploy-files';
import { schemaIssues, unknownFieldIssues, type Located } from './kubernetes-schemas';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ISTIO_FILES = ['deploy/istio/authorization-policy.yaml', 'deploy/istio/mesh-config.yaml'];
const manifests = readManifests();
const istio = readManifests(ISTIO_FILES);
const located = (list: typeof manifests): Located[] => list.map(({ file, index, obj }) => ({ where: `${file}#${index}`, obj }));

/** A deep copy of the object `kind`/`name` from deploy/, changed by `edit`, for negative cases. */
function broken(kind: string, name: string, edit: (o: Obj) => void, files?: readonly string[]): Located[] {
  const obj = structuredClone(findObject(kind, name, files)) as Obj;
  edit(obj);
  return [{ where: `broken ${kind}`, obj: obj as K8sObject }];
}

describe('deploy/kubernetes and deploy/istio against the official API schemas (kubernetes-models)', () => {
  it('every object passes its schema', () => {
    expect(schemaIssues(located([...manifests, ...istio]))).toEqual([]);
  });

  it('no object has a field its schema does not define (strict field validation)', () => {
    expect(unknownFieldIssues(located([...manifests, ...istio]))).toEqual([]);
  });

  // Each of these would pass hand-written structural checks; the schemas refuse them.
  it.each<[string, string, string, (o: Obj) => void, RegExp]>([
    [
      'a probe port as an object',
      'Deployment',
      'ext-authz-adapter',
      (o) => (o.spec.template.spec.containers[0].readinessProbe.grpc.port = { number: 9001 }),
      /readinessProbe\/grpc\/port must be integer/,
    ],
    [
      'an HPA utilization as a percentage string',
      'HorizontalPodAutoscaler',
      'ext-authz-adapter',
      (o) => (o.spec.metrics[0].resource.target.averageUtilization = '70%'),
      /averageUtilization must be integer/,
    ],
    [
      'a container without a name',
      'Deployment',
      'ext-authz-adapter',
      (o) => delete o.spec.template.spec.containers[0].name,
      /must have required property name$/,
    ],
    [
      'a memory limit that is not a quantity',
      'Deployment',
      'ext-authz-adapter',
      (o) => (o.spec.template.spec.containers[0].resources.limits.memory = '512 megs'),
      /memory must match format "quantity"/,
    ],
    [
      'an HPA without maxReplicas',
      'HorizontalPodAutoscaler',
      'ext-authz-adapter',
      (o) => delete o.spec.maxReplicas,
      /must have required property maxReplicas$/,
    ],
    [
      'a Service port as a string',
      'Service',
      'ext-authz-adapter',
      (o) => (o.spec.ports[0].port = '9001'),
      /ports\/0\/port must be integer/,
    ],
  ])('refuses %s', (_what, kind, name, edit, message) => {
    const issues = schemaIssues(broken(kind, name, edit));
    expect(issues).toEqual([expect.stringMatching(message)]);
  });

  it('refuses an AuthorizationPolicy action outside the enum', () => {
    const issues = schemaIssues(broken('AuthorizationPolicy', 'ratings-ext-authz', (o) => (o.spec.action = 'CUSTOMISED'), ISTIO_FILES));
    expect(issues).toEqual([expect.stringMatching(/action must be equal to one of the allowed values/)]);
  });

  it('refuses an object of a kind or version it has no schema for', () => {
    const issues = schemaIssues(broken('HorizontalPodAutoscaler', 'ext-authz-adapter', (o) => (o.apiVersion = 'autoscaling/v2beta1')));
    expect(issues).toEqual([expect.stringMatching(/no schema for autoscaling\/v2beta1 HorizontalPodAutoscaler/)]);
  });

  it('refuses misspelt fields as unknown, naming the object and the field', () => {
    // One compilation for all three: the TypeScript program is the slow part.
    const objects = [
      ...broken('HorizontalPodAutoscaler', 'ext-authz-adapter', (o) => {
        o.spec.metrics[0].resorce = o.spec.metrics[0].resource;
        delete o.spec.metrics[0].resource;
      }),
      ...broken('Deployment', 'ext-authz-adapter', (o) => {
        const probe = o.spec.template.spec.containers[0].livenessProbe;
        probe.grcp = probe.grpc;
        delete probe.grpc;
      }),
      ...broken(
        'AuthorizationPolicy',
        'ratings-ext-authz',
        (o) => {
          o.spec.providers = o.spec.provider;
          delete o.spec.provider;
        },
        ISTIO_FILES,
      ),
    ];
    expect(unknownFieldIssues(objects)).toEqual([
      expect.stringMatching(/^broken HorizontalPodAutoscaler: .*'"resorce"' does not exist/),
      expect.stringMatching(/^broken Deployment: .*'"grcp"' does not exist/),
      expect.stringMatching(/^broken AuthorizationPolicy: .*'"providers"' does not exist/),
    ]);
  });
});
const deployment = findObject('Deployment', 'ext-authz-adapter') as Obj;
const container = deployment.spec.template.spec.containers[0];
const selector = deployment.spec.selector.matchLabels;

describe('deploy/kubernetes manifests', () => {
  // apiVersion, kind and the types of every field are the schemas' (above); the name's form is not.
  it('parse, and every object has a DNS-label metadata.name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const { file, index, obj } of manifests) {
      const where = `${file}#${index}`;
      expect({ where, name: obj.metadata?.name }).toEqual({ where, name: expect.stringMatching(DNS_LABEL) });
    }
  });

  it('holds each kind the issue asks for, at a served API version', () => {
    const kinds = manifests.map(({ obj }) => `${obj.apiVersion} ${obj.kind}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'v1 ConfigMap',
        'apps/v1 Deployment',
        'v1 Service',
        'policy/v1 PodDisruptionBudget',
        'autoscaling/v2 HorizontalPodAutoscaler',
      ]),
    );
  });

  it('lists every manifest in kustomization.yaml', () => {
    const kustomization = readYaml('deploy/kubernetes/kustomization.yaml') as Obj;
    expect(kustomization.resources.map((r: string) => `deploy/kubernetes/${r}`).sort()).toEqual([...K8S_FILES].sort());
  });

  it('runs at least two replicas whose template the selector picks', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('probes readiness, liveness and startup with the native gRPC probe', () => {
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect({ probe, grpc: container[probe]?.grpc }).toEqual({ probe, grpc: { port: expect.any(Number) } });
      // No service field: the probe asks for "", which the adapter answers SERVING.
      expect(container[probe].grpc.service).toBeUndefined();
    }
  });

  it('requests CPU and memory, so the scheduler and the CPU autoscaler have a basis', () => {
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('drains in preStop before SIGTERM', () => {
    expect(container.lifecycle.preStop.exec.command).toEqual(['sleep', expect.stringMatching(/^\d+$/)]);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(
      Number(container.lifecycle.preStop.exec.command[1]),
    );
  });

  it('runs as non-root with a read-only root filesystem and no capabilities', () => {
    const pod = deployment.spec.template.spec.securityContext;
    expect(pod.runAsNonRoot).toBe(true);
    expect(pod.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('carries an adapter config that parses and compiles', () => {
    const configMap = findObject('ConfigMap', 'ext-authz-adapter');
    const settings = parseAdapterConfig(configMap.data!['config.yaml'], 'configmap.yaml');
    expect(settings.workers).toBe(1);
    expect(settings.rules.length).toBeGreaterThan(0);
  });

  it('selects the Deployment pods from both Services, the second headless', () => {
    const services = manifests.filter(({ obj }) => obj.kind === 'Service').map(({ obj }) => obj as Obj);
    expect(services.map((s) => s.metadata.name).sort()).toEqual(['ext-authz-adapter', 'ext-authz-adapter-headless']);
    for (const svc of services) expect(svc.spec.selector).toEqual(selector);
    expect(services.find((s) => s.metadata.name === 'ext-authz-adapter-headless')!.spec.clusterIP).toBe('None');
    for (const svc of services) {
      for (const port of svc.spec.ports) expect(container.ports.map((p: Obj) => p.name)).toContain(port.targetPort);
    }
  });

  it('keeps a PodDisruptionBudget below the replica count, on the same pods', () => {
    const pdb = findObject('PodDisruptionBudget', 'ext-authz-adapter') as Obj;
    expect(pdb.spec.selector.matchLabels).toEqual(selector);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    // minAvailable equal to replicas would block every node drain.
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });

  it('scales the Deployment from at least its replica count on CPU', () => {
    const hpa = findObject('HorizontalPodAutoscaler', 'ext-authz-adapter') as Obj;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } },
    ]);
  });

  it('reads every document of a file and refuses a broken one', () => {
    const two = 'apiVersion: v1\nkind: A\nmetadata: { name: a }\n---\napiVersion: v1\nkind: B\nmetadata: { name: b }\n';
    expect(parseManifests(two, 'two.yaml').map(({ obj }) => obj.kind)).toEqual(['A', 'B']);
    const broken = `${two}---\nkind: C\nmetadata: { name: c\n`;
    expect(() => parseManifests(broken, 'broken.yaml')).toThrow(/broken\.yaml document 2/);
  });
});

/**
 * What the schemas cannot say: the API server's own validation and Istio's. Each check runs on
 * the shipped object and on a broken copy, so it is seen to fail.
 */
describe('rules beyond the schemas', () => {
  const METRIC_SOURCES: Readonly<Record<string, string>> = {
    Resource: 'resource',
    ContainerResource: 'containerResource',
    Pods: 'pods',
    Object: 'object',
    External: 'external',
  };

  /** The API server's rule for an HPA metric: `type` is one of five, and names the one source field set. */
  function hpaMetricIssues(hpa: Obj): string[] {
    return (hpa.spec.metrics as Obj[]).flatMap((m, i) => {
      const field = METRIC_SOURCES[m.type];
      if (!field) return [`spec.metrics[${i}].type: ${JSON.stringify(m.type)} is not one of ${Object.keys(METRIC_SOURCES).join(', ')}`];
      const set = Object.values(METRIC_SOURCES).filter((f) => m[f] !== undefined);
      return set.length === 1 && set[0] === field
        ? []
        : [`spec.metrics[${i}]: type ${m.type} needs exactly the field ${field}, has ${set.join(', ') || 'none'}`];
    });
  }

  it('gives each HPA metric a type that names the source it sets', () => {
    const hpa = findObject('HorizontalPodAutoscaler', 'ext-authz-adapter') as Obj;
    expect(hpaMetricIssues(hpa)).toEqual([]);
    const typo = structuredClone(hpa);
    typo.spec.metrics[0].type = 'Resourse';
    expect(hpaMetricIssues(typo)).toEqual([
      'spec.metrics[0].type: "Resourse" is not one of Resource, ContainerResource, Pods, Object, External',
    ]);
    const mismatch = structuredClone(hpa);
    mismatch.spec.metrics[0].type = 'Pods';
    expect(hpaMetricIssues(mismatch)).toEqual(['spec.metrics[0]: type Pods needs exactly the field pods, has resource']);
  });

  // Fields of Istio's MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider (mesh.proto).
  const GRPC_PROVIDER_FIELDS = new Set([
    'service',
    'port',
    'timeout',
    'failOpen',
    'clearRouteCache',
    'statusOnError',
    'includeRequestBodyInCheck',
  ]);
  const BODY_FIELDS = new Set(['maxRequestBytes', 'allowPartialMessage', 'packAsBytes']);

  /** The IstioOperator CRD leaves spec schemaless; these are the types istioctl would insist on. */
  function grpcProviderIssues(provider: Obj): string[] {
    const out: string[] = [];
    const grpc = provider.envoyExtAuthzGrpc as Obj;
    if (typeof provider.name !== 'string' || !grpc) return ['extensionProviders[]: needs name and envoyExtAuthzGrpc'];
    for (const key of Object.keys(grpc)) if (!GRPC_PROVIDER_FIELDS.has(key)) out.push(`envoyExtAuthzGrpc.${key}: unknown field`);
    if (typeof grpc.service !== 'string') out.push('envoyExtAuthzGrpc.service: must be a host name');
    if (!Number.isInteger(grpc.port) || grpc.port < 1 || grpc.port > 65535)
      out.push(`envoyExtAuthzGrpc.port: ${JSON.stringify(grpc.port)} is not a port number`);
    if (grpc.timeout !== undefined && !/^\d+(\.\d+)?s$/.test(String(grpc.timeout)))
      out.push(`envoyExtAuthzGrpc.timeout: ${JSON.stringify(grpc.timeout)} is not a protobuf Duration like "2.5s"`);
    if (grpc.failOpen !== undefined && typeof grpc.failOpen !== 'boolean') out.push('envoyExtAuthzGrpc.failOpen: must be a boolean');
    const body = (grpc.includeRequestBodyInCheck ?? {}) as Obj;
    for (const [key, value] of Object.entries(body)) {
      if (!BODY_FIELDS.has(key)) out.push(`envoyExtAuthzGrpc.includeRequestBodyInCheck.${key}: unknown field`);
      else if (key === 'maxRequestBytes' ? !Number.isInteger(value) : typeof value !== 'boolean')
        out.push(`envoyExtAuthzGrpc.includeRequestBodyInCheck.${key}: wrong type`);
    }
    return out;
  }

  it('types the Istio extension provider as mesh.proto does', () => {
    const mesh = findObject('IstioOperator', 'ext-authz-adapter-provider', ISTIO_FILES) as Obj;
    const provider = mesh.spec.meshConfig.extensionProviders[0];
    expect(grpcProviderIssues(provider)).toEqual([]);
    expect(durationMs(provider.envoyExtAuthzGrpc.timeout)).toBeGreaterThan(0);
    const bad = structuredClone(provider);
    bad.envoyExtAuthzGrpc.port = { number: 9001 };
    bad.envoyExtAuthzGrpc.failOpen = 'false';
    bad.envoyExtAuthzGrpc.timout = '2s';
    expect(grpcProviderIssues(bad)).toEqual([
      'envoyExtAuthzGrpc.timout: unknown field',
      'envoyExtAuthzGrpc.port: {"number":9001} is not a port number',
      'envoyExtAuthzGrpc.failOpen: must be a boolean',
    ]);
  });
});

import { findObject, K8S_FILES, parseAdapterConfig, parseManifests, readManifests, readYaml } from './deploy-files';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const manifests = readManifests();
const deployment = findObject('Deployment', 'ext-authz-adapter') as Obj;
const container = deployment.spec.template.spec.containers[0];
const selector = deployment.spec.selector.matchLabels;

describe('deploy/kubernetes manifests', () => {
  it('parse, and every object has apiVersion, kind and a DNS-label metadata.name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const { file, index, obj } of manifests) {
      const where = `${file}#${index}`;
      expect({ where, apiVersion: typeof obj.apiVersion, kind: typeof obj.kind }).toEqual({ where, apiVersion: 'string', kind: 'string' });
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
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(container.lifecycle.preStop.exec.command[1]));
  });

  it('runs as non-root with a read-only root filesystem and no capabilities', () => {
    const pod = deployment.spec.template.spec.securityContext;
    expect(pod.runAsNonRoot).toBe(true);
    expect(pod.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
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

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parse } from 'yaml';
import type { AdapterSettings } from '../../src/config';
import { durationMs, findObject, parseAdapterConfig, portOf, readText, readYaml, repoFile, REPO } from './deploy-files';

/**
 * The deployment files name each other: Envoy's clusters are compose services, the adapter's
 * auth URL is another, the Kubernetes Service targets the container's ports. A rename or a
 * port change in one file that misses another breaks the demo only at run time, where Docker
 * is needed; these checks find it here.
 */

/** Parsed YAML, walked by the known shape of each file; a wrong shape fails the test with a TypeError. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const envoy = readYaml('deploy/envoy.yaml') as Obj;
const compose = readYaml('docker-compose.yml') as Obj;
const adapter = parseAdapterConfig(readText('deploy/adapter.yaml'), 'deploy/adapter.yaml');
const dockerfile = readText('Dockerfile');

const listener = envoy.static_resources.listeners[0];
const hcm = listener.filter_chains[0].filters.find((f: Obj) => f.name === 'envoy.filters.network.http_connection_manager').typed_config;
const extAuthzFilter = hcm.http_filters.find((f: Obj) => f.name === 'envoy.filters.http.ext_authz');
const extAuthz = extAuthzFilter.typed_config;
const clusters: Obj[] = envoy.static_resources.clusters;
const routes: Obj[] = hcm.route_config.virtual_hosts.flatMap((vh: Obj) => vh.routes);

function cluster(name: string): Obj {
  const found = clusters.find((c) => c.name === name);
  if (!found) throw new Error(`deploy/envoy.yaml has no cluster ${name}`);
  return found;
}

function endpoints(c: Obj): Array<{ address: string; port: number }> {
  return c.load_assignment.endpoints.flatMap((e: Obj) =>
    e.lb_endpoints.map((l: Obj) => ({
      address: l.endpoint.address.socket_address.address,
      port: l.endpoint.address.socket_address.port_value,
    })),
  );
}

function service(name: string): Obj {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** Container-side ports a compose service publishes or exposes. */
function containerPorts(svc: Obj): number[] {
  const published = (svc.ports ?? []).map((p: string) => Number(String(p).split(':').pop()));
  const exposed = (svc.expose ?? []).map((p: string) => Number(p));
  return [...published, ...exposed];
}

/** The rule names routes pin through check_settings.context_extensions.rule. */
function pinnedRules(): string[] {
  return routes
    .map((r) => r.typed_per_filter_config?.['envoy.filters.http.ext_authz']?.check_settings?.context_extensions?.rule)
    .filter((r): r is string => typeof r === 'string');
}

/** Envoy's bound on a request's headers (`max_request_headers_kb`), which a CheckRequest carries besides the body. */
const envoyHeaderBytes = (hcm.max_request_headers_kb ?? 60) * 1024;

function bodyLimitsAgree(settings: AdapterSettings, maxRequestBytes: number): void {
  for (const rule of settings.rules) {
    if (rule.request.body.enabled)
      expect({ rule: rule.name, maxBytes: rule.request.body.maxBytes }).toEqual({ rule: rule.name, maxBytes: maxRequestBytes });
  }
  // Envoy sends the body whether or not a rule forwards it; a CheckRequest over grpc.maxRequestBytes
  // would be refused (RESOURCE_EXHAUSTED) and the client denied.
  expect(maxRequestBytes + envoyHeaderBytes).toBeLessThanOrEqual(settings.grpc.maxRequestBytes);
}

describe('deploy/envoy.yaml <-> deploy/adapter.yaml <-> docker-compose.yml', () => {
  test('every ext_authz dynamic metadata key the access log prints is one the adapter sets', () => {
    const format: string = hcm.access_log[0].typed_config.log_format.text_format_source.inline_string;
    const keys = [...format.matchAll(/%DYNAMIC_METADATA\(envoy\.filters\.http\.ext_authz:([^)]+)\)%/g)].map((m) => m[1]);
    expect(keys).toEqual(expect.arrayContaining(['rule', 'x-user-id']));
    for (const key of keys) {
      const set = ['rule', 'reason'].includes(key) || adapter.rules.every((r) => r.response.dynamicMetadata.includes(key));
      expect({ key, set }).toEqual({ key, set: true });
    }
  });

  const adapterCluster = extAuthz.grpc_service.envoy_grpc.cluster_name;

  it('sends ext_authz to a cluster that exists and names itself in its load_assignment', () => {
    expect(adapterCluster).toBe('ext_authz_adapter');
    expect(cluster(adapterCluster).load_assignment.cluster_name).toBe(adapterCluster);
  });

  it('routes only to clusters that exist', () => {
    for (const r of routes) expect(clusters.map((c) => c.name)).toContain(r.route.cluster);
  });

  it('points the adapter cluster at the compose adapter service and the adapter gRPC port', () => {
    const grpcPort = portOf(adapter.grpc.address);
    expect(endpoints(cluster(adapterCluster))).toEqual([{ address: 'ext-authz-adapter', port: grpcPort }]);
    expect(containerPorts(service('ext-authz-adapter'))).toContain(grpcPort);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${grpcPort}\\b`, 'm'));
  });

  it('points the backend cluster at the compose ratings service and its PORT', () => {
    const ratings = service('ratings');
    const port = Number(ratings.environment.PORT);
    expect(endpoints(cluster('ratings'))).toEqual([{ address: 'ratings', port }]);
    expect(containerPorts(ratings)).toContain(port);
  });

  it('points every adapter rule at the compose auth service, its PORT and AUTH_PREFIX', () => {
    const auth = service('auth-service');
    for (const rule of adapter.rules) {
      const url = new URL(rule.service.url);
      expect({ host: url.hostname, port: Number(url.port || 80), path: rule.service.path }).toEqual({
        host: 'auth-service',
        port: Number(auth.environment.PORT),
        path: auth.environment.AUTH_PREFIX,
      });
    }
    expect(containerPorts(auth)).toContain(Number(auth.environment.PORT));
  });

  it("sends Envoy's spans (OTLP/gRPC) and the adapter's (OTLP/HTTP) to the compose jaeger service", () => {
    const jaeger = service('jaeger');
    const provider = hcm.tracing.provider;
    expect(provider.name).toBe('envoy.tracers.opentelemetry');
    const otlpCluster = provider.typed_config.grpc_service.envoy_grpc.cluster_name;
    expect(endpoints(cluster(otlpCluster))).toEqual([{ address: 'jaeger', port: 4317 }]);
    expect(
      cluster(otlpCluster).typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config,
    ).toHaveProperty('http2_protocol_options');
    const env = service('ext-authz-adapter').environment;
    expect(env.OTEL_TRACES_EXPORTER).toBe('otlp');
    expect(env.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    const endpoint = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT);
    expect({ host: endpoint.hostname, port: Number(endpoint.port) }).toEqual({ host: 'jaeger', port: 4318 });
    expect(containerPorts(jaeger)).toEqual(expect.arrayContaining([4317, 4318]));
    expect(service('ext-authz-adapter').depends_on).toHaveProperty('jaeger');
  });

  it('publishes the listener and Envoy admin ports from the envoy service', () => {
    const envoySvc = service('envoy');
    expect(envoySvc.ports).toContain(`${listener.address.socket_address.port_value}:${listener.address.socket_address.port_value}`);
    // Envoy's admin can change its state: loopback only on the host.
    expect(envoySvc.ports).toContain(
      `127.0.0.1:${envoy.admin.address.socket_address.port_value}:${envoy.admin.address.socket_address.port_value}`,
    );
    expect(listener.address.socket_address.port_value).toBe(8080);
  });

  it('pins routes only to rules the adapter has, through the ext_authz filter name', () => {
    expect(pinnedRules().length).toBeGreaterThan(0);
    for (const name of pinnedRules()) expect(adapter.rules.map((r) => r.name)).toContain(name);
    const filterNames = hcm.http_filters.map((f: Obj) => f.name);
    for (const r of routes) for (const key of Object.keys(r.typed_per_filter_config ?? {})) expect(filterNames).toContain(key);
    expect(filterNames[filterNames.length - 1]).toBe('envoy.filters.http.router');
  });

  it('buffers as many body bytes in Envoy as the adapter forwards', () => {
    bodyLimitsAgree(adapter, extAuthz.with_request_body.max_request_bytes);
  });

  it('gives the adapter time to answer before Envoy gives up on it', () => {
    const envoyTimeout = durationMs(extAuthz.grpc_service.timeout);
    for (const rule of adapter.rules) expect(rule.service.timeoutMs).toBeLessThan(envoyTimeout);
  });

  it("lets Envoy's health check see a drain before the adapter stops taking checks", () => {
    const hc = cluster(adapterCluster).health_checks[0];
    expect(hc.grpc_health_check.service_name).toBe('envoy.service.auth.v3.Authorization');
    expect(durationMs(hc.interval) * hc.unhealthy_threshold).toBeLessThan(adapter.shutdown.drainDelayMs);
  });

  it('gives the adapter container time to drain before docker kills it', () => {
    const grace = durationMs(service('ext-authz-adapter').stop_grace_period);
    expect(grace).toBeGreaterThan(adapter.shutdown.drainDelayMs + adapter.shutdown.timeoutMs);
  });

  it('mounts each config file where its process reads it', () => {
    const adapterSvc = service('ext-authz-adapter');
    const configPath = adapterSvc.command[adapterSvc.command.indexOf('--config') + 1];
    expect(adapterSvc.volumes).toContain(`./deploy/adapter.yaml:${configPath}:ro`);
    const envoySvc = service('envoy');
    const envoyConfig = envoySvc.command[envoySvc.command.indexOf('-c') + 1];
    expect(envoySvc.volumes).toContain(`./deploy/envoy.yaml:${envoyConfig}:ro`);
    // The image's default command reads the same path.
    expect(dockerfile).toContain(`CMD ["serve", "--config", "${configPath}"]`);
  });

  it('runs demo scripts that exist and that the image copies', () => {
    for (const name of ['auth-service', 'ratings']) {
      const [node, script] = service(name).entrypoint;
      expect(node).toBe('node');
      expect(existsSync(repoFile(script))).toBe(true);
      const dir = script.slice(0, script.lastIndexOf('/') + 1);
      expect(dockerfile).toContain(`COPY ${script} ./${dir}`);
    }
  });

  it('serves the admin port that the image HEALTHCHECK asks', () => {
    const adminPort = portOf(adapter.admin.address);
    expect(dockerfile).toContain(`http://127.0.0.1:${adminPort}/readyz`);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE .*\\b${adminPort}\\b`, 'm'));
  });
});

describe('docker-compose.yml', () => {
  const TOP_LEVEL = new Set(['name', 'services', 'networks', 'volumes', 'configs', 'secrets']);
  const SERVICE_KEYS = new Set([
    'build',
    'image',
    'command',
    'entrypoint',
    'environment',
    'volumes',
    'ports',
    'expose',
    'depends_on',
    'healthcheck',
    'stop_grace_period',
    'init',
    'restart',
    'user',
    'working_dir',
  ]);
  const DEPENDS_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

  it('has only keys the compose spec defines (x- extensions aside)', () => {
    for (const key of Object.keys(compose)) if (!key.startsWith('x-')) expect(TOP_LEVEL).toContain(key);
    for (const [name, svc] of Object.entries(compose.services as Record<string, Obj>)) {
      for (const key of Object.keys(svc))
        expect({ service: name, key, known: SERVICE_KEYS.has(key) }).toEqual({ service: name, key, known: true });
      expect(svc.image !== undefined || svc.build !== undefined).toBe(true);
    }
  });

  it('builds from a context and Dockerfile that exist', () => {
    for (const svc of Object.values(compose.services as Record<string, Obj>)) {
      if (!svc.build) continue;
      expect(existsSync(repoFile(`${svc.build.context}/${svc.build.dockerfile}`))).toBe(true);
    }
  });

  it('depends only on services that exist, with valid conditions', () => {
    for (const svc of Object.values(compose.services as Record<string, Obj>)) {
      for (const [dep, spec] of Object.entries((svc.depends_on ?? {}) as Record<string, Obj>)) {
        expect(Object.keys(compose.services)).toContain(dep);
        expect(DEPENDS_CONDITIONS).toContain(spec.condition);
      }
    }
    // service_healthy needs a health check: the adapter's comes from the image.
    expect(service('ext-authz-adapter').healthcheck).toBeUndefined();
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
  });

  it('bind-mounts only files that exist in the repository, read-only', () => {
    for (const svc of Object.values(compose.services as Record<string, Obj>)) {
      for (const volume of (svc.volumes ?? []) as string[]) {
        const [source, , mode] = volume.split(':');
        expect(source.startsWith('./')).toBe(true);
        expect(existsSync(repoFile(source))).toBe(true);
        expect(mode).toBe('ro');
      }
    }
  });

  it('writes ports as [ip:]host:container with numbers in range', () => {
    for (const svc of Object.values(compose.services as Record<string, Obj>)) {
      for (const p of (svc.ports ?? []) as string[]) {
        expect(p).toMatch(/^(\d{1,3}(\.\d{1,3}){3}:)?\d{1,5}:\d{1,5}$/);
        for (const n of p.split(':').slice(-2)) expect(Number(n)).toBeLessThanOrEqual(65535);
      }
    }
  });

  // Debian's docker-compose (or the compose plugin) resolves the file the way `up` does.
  const composeCommand = findCompose();
  (composeCommand ? it : it.skip)(`is accepted by \`${composeCommand?.join(' ') ?? 'docker-compose'} config\``, () => {
    const [bin, ...pre] = composeCommand!;
    const run = spawnSync(bin, [...pre, '-f', 'docker-compose.yml', 'config', '--quiet'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  });
});

function findCompose(): string[] | undefined {
  for (const candidate of [['docker-compose'], ['docker', 'compose']]) {
    const probe = spawnSync(candidate[0], [...candidate.slice(1), 'version'], { encoding: 'utf8', timeout: 10_000 });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

describe('Kubernetes and Istio manifests <-> adapter config', () => {
  const configMap = findObject('ConfigMap', 'ext-authz-adapter');
  const k8sAdapter = parseAdapterConfig(configMap.data!['config.yaml'], 'deploy/kubernetes/configmap.yaml config.yaml');
  const deployment = findObject('Deployment', 'ext-authz-adapter') as Obj;
  const podSpec = deployment.spec.template.spec;
  const container = podSpec.containers[0];
  const containerPort = (name: string): number => container.ports.find((p: Obj) => p.name === name).containerPort;

  it('listens where the container, the probes and both Services say', () => {
    const grpcPort = portOf(k8sAdapter.grpc.address);
    expect(containerPort('grpc')).toBe(grpcPort);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].grpc.port).toBe(grpcPort);
    for (const name of ['ext-authz-adapter', 'ext-authz-adapter-headless']) {
      const svc = findObject('Service', name) as Obj;
      const port = svc.spec.ports.find((p: Obj) => p.name === 'grpc');
      expect({ port: port.port, targetPort: port.targetPort }).toEqual({ port: grpcPort, targetPort: 'grpc' });
    }
  });

  it('exposes the admin port to Prometheus and the Service', () => {
    const adminPort = portOf(k8sAdapter.admin.address);
    expect(containerPort('http-admin')).toBe(adminPort);
    expect(Number(deployment.spec.template.metadata.annotations['prometheus.io/port'])).toBe(adminPort);
    const svc = findObject('Service', 'ext-authz-adapter') as Obj;
    expect(svc.spec.ports.find((p: Obj) => p.name === 'http-admin').targetPort).toBe('http-admin');
  });

  it('matches Envoy and the compose config on rule names, body size and timeouts', () => {
    for (const name of pinnedRules()) expect(k8sAdapter.rules.map((r) => r.name)).toContain(name);
    bodyLimitsAgree(k8sAdapter, extAuthz.with_request_body.max_request_bytes);
    for (const rule of k8sAdapter.rules) expect(rule.service.timeoutMs).toBeLessThan(durationMs(extAuthz.grpc_service.timeout));
    const hc = cluster(extAuthz.grpc_service.envoy_grpc.cluster_name).health_checks[0];
    expect(durationMs(hc.interval) * hc.unhealthy_threshold).toBeLessThan(k8sAdapter.shutdown.drainDelayMs);
  });

  it('mounts the ConfigMap where the container reads its config', () => {
    const configPath: string = container.args[container.args.indexOf('--config') + 1];
    const mount = container.volumeMounts.find((m: Obj) => configPath.startsWith(`${m.mountPath}/`));
    const volume = podSpec.volumes.find((v: Obj) => v.name === mount.name);
    expect(volume.configMap.name).toBe(configMap.metadata.name);
    expect(Object.keys(configMap.data!)).toContain(configPath.slice(mount.mountPath.length + 1));
    // A subPath mount would never see ConfigMap updates.
    expect(mount.subPath).toBeUndefined();
  });

  it('runs as the image user', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    expect(user).not.toBeNull();
    expect([podSpec.securityContext.runAsUser, podSpec.securityContext.runAsGroup]).toEqual([Number(user![1]), Number(user![2])]);
  });

  it('gives a terminating pod time for preStop, drainDelay and shutdown.timeout', () => {
    const preStopCommand: string[] = container.lifecycle.preStop.exec.command;
    expect(preStopCommand[0]).toBe('sleep');
    const preStopMs = Number(preStopCommand[1]) * 1000;
    const { drainDelayMs, timeoutMs } = k8sAdapter.shutdown;
    expect(podSpec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + drainDelayMs + timeoutMs);
  });

  it('registers the Istio provider the AuthorizationPolicy names, on the adapter Service', () => {
    const mesh = parse(readText('deploy/istio/mesh-config.yaml')).spec.meshConfig.extensionProviders[0];
    const policy = parse(readText('deploy/istio/authorization-policy.yaml'));
    expect(policy.spec.action).toBe('CUSTOM');
    expect(policy.spec.provider.name).toBe(mesh.name);
    expect(mesh.envoyExtAuthzGrpc.service).toMatch(/^ext-authz-adapter\.[a-z0-9-]+\.svc\.cluster\.local$/);
    expect(mesh.envoyExtAuthzGrpc.port).toBe(portOf(k8sAdapter.grpc.address));
    expect(mesh.envoyExtAuthzGrpc.failOpen).toBe(false);
    for (const rule of k8sAdapter.rules) expect(rule.service.timeoutMs).toBeLessThan(durationMs(mesh.envoyExtAuthzGrpc.timeout));
    bodyLimitsAgree(k8sAdapter, mesh.envoyExtAuthzGrpc.includeRequestBodyInCheck.maxRequestBytes);
  });
});

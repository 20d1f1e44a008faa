import path from 'node:path';
import ts from 'typescript';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { REPO, type K8sObject } from './deploy-files';

/**
 * Kubernetes and Istio objects checked against the official API schemas, as packaged by
 * kubernetes-models (generated from the Kubernetes OpenAPI spec and Istio's CRDs), in two passes:
 *
 * - `schemaIssues`: the JSON Schema validation the models run (types, required fields, enums,
 *   formats such as resource quantities).
 * - `unknownFieldIssues`: fields the schema does not define, which the API server refuses under
 *   strict field validation (`kubectl apply` does that by default) but JSON Schema lets through
 *   because the OpenAPI spec leaves objects open. The models' TypeScript declarations come from the
 *   same spec, so the TypeScript compiler's excess-property check on each object finds them.
 */

interface Model {
  readonly module: string;
  readonly typeName: string;
  readonly validate: (obj: K8sObject) => void;
  /** The CRD keeps part of the object schemaless (x-kubernetes-preserve-unknown-fields). */
  readonly open?: true;
}

const MODELS: Readonly<Record<string, Model>> = {
  'v1 ConfigMap': { module: 'kubernetes-models/v1', typeName: 'IConfigMap', validate: (o) => new ConfigMap(o as never).validate() },
  'v1 Service': { module: 'kubernetes-models/v1', typeName: 'IService', validate: (o) => new Service(o as never).validate() },
  'apps/v1 Deployment': {
    module: 'kubernetes-models/apps/v1',
    typeName: 'IDeployment',
    validate: (o) => new Deployment(o as never).validate(),
  },
  'policy/v1 PodDisruptionBudget': {
    module: 'kubernetes-models/policy/v1',
    typeName: 'IPodDisruptionBudget',
    validate: (o) => new PodDisruptionBudget(o as never).validate(),
  },
  'autoscaling/v2 HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2',
    typeName: 'IHorizontalPodAutoscaler',
    validate: (o) => new HorizontalPodAutoscaler(o as never).validate(),
  },
  'security.istio.io/v1 AuthorizationPolicy': {
    module: '@kubernetes-models/istio/security.istio.io/v1',
    typeName: 'IAuthorizationPolicy',
    validate: (o) => new AuthorizationPolicy(o as never).validate(),
  },
  // IstioOperator's CRD defines no schema for spec: istioctl, not the API server, checks it.
  'install.istio.io/v1alpha1 IstioOperator': {
    module: '@kubernetes-models/istio/install.istio.io/v1alpha1',
    typeName: 'IIstioOperator',
    validate: (o) => new IstioOperator(o as never).validate(),
    open: true,
  },
};

function modelOf(obj: K8sObject): Model | undefined {
  return MODELS[`${obj.apiVersion} ${obj.kind}`];
}

export interface Located {
  readonly where: string;
  readonly obj: K8sObject;
}

/** Schema violations, one message per object at fault, naming it; [] when all pass. */
export function schemaIssues(objects: readonly Located[]): string[] {
  const out: string[] = [];
  for (const { where, obj } of objects) {
    const model = modelOf(obj);
    if (!model) {
      out.push(`${where}: no schema for ${obj.apiVersion} ${obj.kind}; known: ${Object.keys(MODELS).join(', ')}`);
      continue;
    }
    try {
      model.validate(obj);
    } catch (err) {
      out.push(`${where}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The last program, so the next one reuses its parsed declaration files. */
let previous: ts.Program | undefined;

/** Fields the API schema does not define, as the TypeScript compiler reports them, naming the object. */
export function unknownFieldIssues(objects: readonly Located[]): string[] {
  const dir = path.join(REPO, 'test', 'deploy');
  const sources = new Map<string, string>();
  const whereOf = new Map<string, string>();
  objects.forEach(({ where, obj }, i) => {
    const model = modelOf(obj);
    if (!model || model.open) return;
    const file = path.join(dir, `__strict_fields_${i}.ts`);
    sources.set(
      file,
      `import type { ${model.typeName} } from '${model.module}';\nexport const o: ${model.typeName} = ${JSON.stringify(obj, null, 2)};\n`,
    );
    whereOf.set(file, where);
  });
  if (sources.size === 0) return [];
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => sources.get(f) ?? readFile(f);
  host.fileExists = (f) => sources.has(f) || fileExists(f);
  host.getSourceFile = (f, lang, onError) => {
    const text = sources.get(f);
    return text === undefined ? getSourceFile(f, lang, onError) : ts.createSourceFile(f, text, lang);
  };
  const program = ts.createProgram([...sources.keys()], options, host, previous);
  previous = program;
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? (whereOf.get(d.file.fileName) ?? d.file.fileName) : '';
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    const text = d.file?.text.split('\n')[line - 1]?.trim() ?? '';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')} (at ${text})`;
  });
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { Issues, parseConfigText, parseDuration, type AdapterSettings } from '../../src/config';
import { compileMatch } from '../../src/matcher';

/** Test-only readers for the deployment files, shared by the test/deploy suites. */

export const REPO = path.resolve(__dirname, '../..');

export function repoFile(rel: string): string {
  return path.join(REPO, rel);
}

export function readText(rel: string): string {
  return readFileSync(repoFile(rel), 'utf8');
}

/** One YAML document, as plain data (compose's anchors and aliases resolved). */
export function readYaml(rel: string): Record<string, unknown> {
  return parse(readText(rel), { uniqueKeys: true }) as Record<string, unknown>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export const K8S_FILES = ['configmap.yaml', 'deployment.yaml', 'service.yaml', 'pdb.yaml', 'hpa.yaml'].map((f) => `deploy/kubernetes/${f}`);

/** Every document of every manifest, failing on YAML errors rather than skipping them. */
export function readManifests(files: readonly string[] = K8S_FILES): Array<{ file: string; index: number; obj: K8sObject }> {
  return files.flatMap((file) => parseManifests(readText(file), file));
}

export function parseManifests(text: string, file: string): Array<{ file: string; index: number; obj: K8sObject }> {
  const out: Array<{ file: string; index: number; obj: K8sObject }> = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) throw new Error(`${file}: no YAML documents`);
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors[0].message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj !== null) out.push({ file, index, obj });
  });
  return out;
}

export function findObject(kind: string, name: string, files?: readonly string[]): K8sObject {
  const found = readManifests(files).find((m) => m.obj.kind === kind && m.obj.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in deploy/kubernetes`);
  return found.obj;
}

/**
 * Parses adapter config text exactly as the adapter does and compiles every rule's match
 * block, so a config that `validate` would refuse fails here with its issues listed.
 */
export function parseAdapterConfig(text: string, source: string): AdapterSettings {
  const issues = new Issues();
  const settings = parseConfigText(text, issues);
  if (settings) for (const rule of settings.rules) compileMatch(rule.match, issues);
  if (!settings || !issues.empty) {
    throw new Error(`${source}:\n${issues.list.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
  return settings;
}

export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Envoy's "2.5s" and the adapter's "5s" alike, in milliseconds, for comparing across files. */
export function durationMs(value: unknown): number {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(value)}`);
  return ms;
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AdapterServer } from '../../src/server/runtime/adapter-server';
import { CheckClient } from './check-client';

/** A rule's YAML with the test's auth service; `extra` is merged into the rule text verbatim. */
export function ruleYaml(name: string, url: string, extra = ''): string {
  return `  - name: ${name}\n    service: { url: "${url}", path: /validateToken, timeout: 2s }\n${extra}`;
}

export function configYaml(rules: string, top = ''): string {
  return `grpc: { address: "127.0.0.1:0" }\nadmin: { address: "127.0.0.1:0" }\nshutdown: { drainDelay: 0s, timeout: 5s }\n${top}rules:\n${rules}`;
}

export function writeConfig(yaml: string, dir = mkdtempSync(path.join(tmpdir(), 'ext-authz-test-'))): string {
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** The real adapter, in this process, on ephemeral ports, with a real grpc-js client. */
export class TestAdapter {
  private constructor(
    readonly server: AdapterServer,
    readonly client: CheckClient,
    readonly configFile: string,
  ) {}

  static async start(yaml: string, options: { watch?: boolean; logger?: pino.Logger; clock?: () => number } = {}): Promise<TestAdapter> {
    const configFile = writeConfig(yaml);
    const server = await AdapterServer.start({
      configFile,
      watch: options.watch,
      logger: options.logger ?? pino({ level: 'silent' }),
      clock: options.clock,
    });
    return new TestAdapter(server, new CheckClient(`127.0.0.1:${server.grpcPort}`), configFile);
  }

  async close(): Promise<void> {
    this.client.close();
    await this.server.shutdown();
  }
}

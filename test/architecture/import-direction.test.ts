import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// The layers of ARCHITECTURE.md and their import rule, read from the source: every relative
// import of every file under src/ is resolved to the layer it lands in.

const SRC = path.join(__dirname, '..', '..', 'src');

/** Each layer, and the layers it may import from (itself always). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  config: [],
  matcher: ['config'],
  translate: ['matcher', 'config'],
  'server/auth-client': ['translate', 'config'],
  'server/observability': ['server/auth-client', 'translate', 'config'],
  'server/protos': ['translate'],
  'server/check': ['server/auth-client', 'server/observability', 'translate', 'matcher', 'config'],
  'server/runtime': ['server/check', 'server/auth-client', 'server/observability', 'server/protos', 'translate', 'matcher', 'config'],
  server: ['server/runtime', 'server/check', 'server/protos'],
  // A gRPC client of the adapter (tests, demo, bench): the wire definitions, never the server.
  client: ['server/protos', 'translate', 'config'],
  '.': ['server', 'client', 'translate', 'matcher', 'config'],
};

function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel.length === 1) return '.';
  if (rel[0] !== 'server') return rel[0];
  if (rel.length === 2) return rel[1] === 'index.ts' ? 'server' : `server/${rel[1].replace(/\.ts$/, '')}`;
  return `server/${rel[1]}`;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g;

interface Edge {
  readonly from: string;
  readonly spec: string;
  readonly to: string;
  readonly target: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const asFile = statSync(`${target}.ts`, { throwIfNoEntry: false }) ? `${target}.ts` : path.join(target, 'index.ts');
      out.push({ from: path.relative(SRC, file), spec: m[1], to: layerOf(asFile), target: path.relative(SRC, asFile) });
    }
  }
  return out;
}

describe('the import direction', () => {
  const all = edges();

  test('the scan finds the imports it is meant to check', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.some((e) => layerOf(path.join(SRC, e.from)) === 'server/check' && e.to === 'server/auth-client')).toBe(true);
  });

  test('every import goes down the layers: runtime → check → {auth-client, translate, matcher} → config', () => {
    const wrong = all
      .filter((e) => {
        const from = layerOf(path.join(SRC, e.from));
        return from !== e.to && !(MAY_IMPORT[from] ?? []).includes(e.to);
      })
      .map((e) => `${e.from} imports ${e.spec} (${e.to})`);
    expect(wrong).toEqual([]);
  });

  test('a server folder is entered through its index.ts, never a file behind it', () => {
    const behind = all
      .filter((e) => {
        const from = layerOf(path.join(SRC, e.from));
        return e.to.startsWith('server/') && from !== e.to && e.to !== 'server/protos' && !e.target.endsWith('index.ts');
      })
      .map((e) => `${e.from} imports ${e.spec}`);
    expect(behind).toEqual([]);
  });

  test('at most six files sit loose in src/server', () => {
    const loose = readdirSync(path.join(SRC, 'server')).filter((name) => name.endsWith('.ts'));
    expect(loose.length).toBeLessThanOrEqual(6);
  });
});

import { existsSync } from 'node:fs';
import { readText, repoFile } from './deploy-files';

/** Docker cannot run here, so the Dockerfile is read as text: stage by stage, instruction by instruction. */

interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly lines: string[];
}

function stages(text: string): Stage[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const out: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) out.push({ from: from[1], name: from[2], lines: [] });
    else out[out.length - 1]?.lines.push(line);
  }
  return out;
}

const all = stages(readText('Dockerfile'));
const build = all[0];
const runtime = all[all.length - 1];
const ignored = readText('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('builds on node:20-bookworm with the native toolchain and runs on node:20-bookworm-slim', () => {
    expect(all).toHaveLength(2);
    expect(build).toMatchObject({ from: 'node:20-bookworm', name: 'build' });
    expect(build.lines.join('\n')).toMatch(/apt-get install .*python3 make g\+\+/);
    expect(runtime.from).toBe('node:20-bookworm-slim');
  });

  it('installs from the lock file, builds, and drops dev dependencies', () => {
    const steps = build.lines.filter((l) => l.startsWith('RUN ')).join('\n');
    expect(steps).toMatch(/npm ci\b/);
    expect(steps).toMatch(/npm rebuild re2/);
    expect(steps).toMatch(/npm run build && npm prune --omit=dev/);
  });

  it('runs as a numeric non-root user, with a health check and both ports exposed', () => {
    const user = runtime.lines.find((l) => l.startsWith('USER '));
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(runtime.lines.filter((l) => l.startsWith('HEALTHCHECK '))).toHaveLength(1);
    expect(runtime.lines).toContain('EXPOSE 9001 9002');
    expect(runtime.lines).toContain('ENTRYPOINT ["node", "bin/ext-authz-adapter.js"]');
  });

  it('runs the adapter with the same V8 heap limit as `npm start`', () => {
    const env = runtime.lines.find((l) => l.startsWith('ENV NODE_OPTIONS='));
    const flag = env?.slice('ENV NODE_OPTIONS='.length);
    expect(flag).toMatch(/^--max-old-space-size=\d+$/);
    const start = (JSON.parse(readText('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start.split(' ')).toContain(flag);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const copies = all.flatMap((s) => s.lines).filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(1, -1);
      for (const source of sources) {
        expect({ source, exists: existsSync(repoFile(source)) }).toEqual({ source, exists: true });
        const top = source.split('/')[0];
        expect({ source, ignored: ignored.includes(top) || ignored.includes(source) }).toEqual({ source, ignored: false });
      }
    }
    // The runtime stage takes dependencies and output from the build stage.
    expect(runtime.lines).toEqual(
      expect.arrayContaining(['COPY --from=build /src/node_modules ./node_modules', 'COPY --from=build /src/dist ./dist']),
    );
  });

  it('keeps local state out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});

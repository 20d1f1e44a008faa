import fc from 'fast-check';
import { checkRule, compileOk, makeInput } from './helpers';

// Whatever a client sends, a whitelist entry `/public/*` may only let a request skip
// authentication if a backend resolving the same path (here Node's WHATWG URL parser, an
// independent implementation, behind a proxy that merges slashes as the issue specifies)
// also lands under /public/.
const SEGMENTS = [
  'public',
  'PUBLIC',
  'admin',
  'x',
  '',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '.%2e',
  '%2f',
  '%5c',
  '\\',
  '%41',
  '%zz',
  ';',
  '?q=..',
  '#f',
];

const rawPath = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 8 }).map((parts) => `/${parts.join('/')}`);

test('a whitelist never skips authentication for a path a backend resolves outside it', () => {
  const whitelist = compileOk({ mode: 'whitelist', conditions: [{ path: '/public/*' }] });
  fc.assert(
    fc.property(rawPath, (raw) => {
      const input = makeInput({ path: raw });
      if (whitelist.needsAuth(input)) return;
      expect(input.pathSafe).toBe(true);
      expect(new URL(`http://backend.test${raw.replace(/\/+/g, '/')}`).pathname.startsWith('/public/')).toBe(true);
      checkRule(whitelist, false, input);
    }),
    { numRuns: 3000 },
  );
});

// --- backend routing models ----------------------------------------------------------------
// Each model is a plain function from a raw path (as a client sends it, behind a proxy that
// forwards it unchanged) to the path its router matches, or undefined where it answers 400.
// `fold` says how its router compares: Express ignores case and one trailing "/".

interface Backend {
  readonly name: string;
  readonly route: (raw: string) => string | undefined;
  readonly fold: boolean;
}

function pathPart(raw: string): string {
  const q = raw.search(/[?#]/);
  return q === -1 ? raw : raw.slice(0, q);
}

function decode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/** Merges "//" and resolves "." and ".."; `clamp`: ".." at the root stays there (Go), else undefined (400). */
function resolveDots(path: string, clamp: boolean): string | undefined {
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length === 0 && !clamp) return undefined;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

const BACKENDS: readonly Backend[] = [
  {
    // Tomcat: strips ";params" from each segment, then decodes (rejecting an encoded "/" or
    // "\"), then merges "//" and resolves dots; a path above the root is a 400.
    name: 'Servlet',
    fold: false,
    route: (raw) => {
      const stripped = pathPart(raw)
        .split('/')
        .map((seg) => seg.split(';')[0])
        .join('/');
      if (/%(2f|5c|00)/i.test(stripped) || stripped.includes('\\')) return undefined;
      const decoded = decode(stripped);
      return decoded === undefined || !decoded.startsWith('/') ? undefined : resolveDots(decoded, false);
    },
  },
  {
    // Express: routes on the path as sent, case-insensitively, with or without one trailing "/".
    name: 'Express',
    fold: true,
    route: (raw) => pathPart(raw),
  },
  {
    // nginx: decodes, merges slashes, resolves dots; above the root is a 400.
    name: 'nginx',
    fold: false,
    route: (raw) => {
      const decoded = decode(pathPart(raw));
      return decoded === undefined || !decoded.startsWith('/') ? undefined : resolveDots(decoded, false);
    },
  },
  {
    // Go's ServeMux: r.URL.Path is decoded, then path.Clean (dots clamp at the root); an unclean
    // path is redirected to the clean one, which then is what it serves.
    name: 'Go ServeMux',
    fold: false,
    route: (raw) => {
      const decoded = decode(pathPart(raw));
      return decoded === undefined || !decoded.startsWith('/') ? undefined : resolveDots(decoded, true);
    },
  },
];

/** A route of a backend: an exact path, or a prefix ending in "/" (the adapter's `/x/*`). */
interface Route {
  readonly path: string;
  readonly prefix: boolean;
}

function routes(route: Route, served: string, fold: boolean): boolean {
  let p = fold ? served.toLowerCase() : served;
  const r = fold ? route.path.toLowerCase() : route.path;
  if (fold && p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (route.prefix) return p.startsWith(r) || (fold && p === r.slice(0, -1));
  return p === r;
}

const ROUTES: readonly Route[] = [
  { path: '/admin/', prefix: true },
  { path: '/api/private', prefix: false },
  { path: '/public/', prefix: true },
  { path: '/api/', prefix: true },
  { path: '/x', prefix: false },
];
const VARIANT_SEGMENTS = [
  'admin',
  'ADMIN',
  'Admin',
  'api',
  'private',
  'public',
  'x',
  'shop',
  '',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '.%2e',
  '%61dmin',
  '%2fadmin',
  '%5c',
  '..;',
  ';x=1',
  'x;a',
  '%3b',
  '..%3B',
  '%252f',
  '%25',
  '%2561dmin',
  '%zz',
];
const variant = fc
  .tuple(fc.array(fc.constantFrom(...VARIANT_SEGMENTS), { minLength: 1, maxLength: 6 }), fc.constantFrom('', '/', '?q=/admin'))
  .map(([parts, tail]) => `/${parts.join('/')}${tail}`);
const routeSet = fc.uniqueArray(fc.constantFrom(...ROUTES), { minLength: 1, maxLength: 2 });
const conditionsOf = (set: readonly Route[]) => set.map((r) => ({ path: r.prefix ? `${r.path}*` : r.path }));

test('blacklist: a variant that some backend routes to a protected resource always needs authentication', () => {
  fc.assert(
    fc.property(routeSet, variant, (protectedRoutes, raw) => {
      const rule = compileOk({ mode: 'blacklist', conditions: conditionsOf(protectedRoutes) });
      const input = makeInput({ path: raw });
      for (const backend of BACKENDS) {
        const served = backend.route(raw);
        if (served === undefined || !protectedRoutes.some((r) => routes(r, served, backend.fold))) continue;
        if (!rule.needsAuth(input))
          throw new Error(`${backend.name} serves ${raw} as protected ${served}, but the adapter skips authentication`);
        checkRule(rule, true, input);
      }
    }),
    { numRuns: 4000 },
  );
});

test('whitelist: a variant skips authentication only when every backend routes it to a public resource (or refuses it)', () => {
  fc.assert(
    fc.property(routeSet, variant, (publicRoutes, raw) => {
      const rule = compileOk({ mode: 'whitelist', conditions: conditionsOf(publicRoutes) });
      const input = makeInput({ path: raw });
      if (rule.needsAuth(input)) return;
      for (const backend of BACKENDS) {
        const served = backend.route(raw);
        if (served !== undefined && !publicRoutes.some((r) => routes(r, served, backend.fold))) {
          throw new Error(`the adapter skips authentication for ${raw}, but ${backend.name} serves it as ${served}, which is not public`);
        }
      }
      checkRule(rule, false, input);
    }),
    { numRuns: 4000 },
  );
});

test('plain paths keep their verdicts: public paths skip in a whitelist, unrelated paths stay open in a blacklist', () => {
  const whitelist = compileOk({ mode: 'whitelist', conditions: [{ path: '/public/*' }, { path: '/x' }] });
  const blacklist = compileOk({ mode: 'blacklist', conditions: [{ path: '/admin/*' }, { path: '/api/private' }] });
  for (const path of ['/public/a', '/public/a/b.png?v=1', '/x', '/x?y=1']) checkRule(whitelist, false, makeInput({ path }));
  for (const path of ['/shop', '/api/privatex', '/administrator', '/api/private/x', '/x/admin'])
    checkRule(blacklist, false, makeInput({ path }));
});

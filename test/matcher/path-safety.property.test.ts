import fc from 'fast-check';
import { checkRule, compileOk, makeInput } from './helpers';

// Whatever a client sends, a whitelist entry `/public/*` may only let a request skip
// authentication if a backend resolving the same path (here Node's WHATWG URL parser, an
// independent implementation, behind a proxy that merges slashes as the issue specifies)
// also lands under /public/.
const SEGMENTS = ['public', 'PUBLIC', 'admin', 'x', '', '.', '..', '%2e', '%2E%2e', '.%2e', '%2f', '%5c', '\\', '%41', '%zz', ';', '?q=..', '#f'];

const rawPath = fc
  .array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 8 })
  .map((parts) => `/${parts.join('/')}`);

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

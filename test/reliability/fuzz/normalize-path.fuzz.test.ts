import fc from 'fast-check';
import { normalizePath } from '../../../src/translate';
import { fuzzParameters } from './fuzz-options';

// Characters that matter to path normalization, plus some that must make a path unsafe.
const PATH_CHARS = [
  '/',
  '/',
  '/',
  '.',
  '.',
  '%',
  '2',
  'e',
  'E',
  'f',
  'F',
  '5',
  'c',
  'C',
  '0',
  'a',
  'b',
  '\\',
  '?',
  '#',
  ' ',
  '\0',
  '\x7f',
  'é',
  '~',
  ';',
];
const rawPath = fc.oneof(
  fc.array(fc.constantFrom(...PATH_CHARS), { maxLength: 24 }).map((cs) => cs.join('')),
  fc.string({ maxLength: 24, unit: 'binary' }),
);

const SEGMENT_ESCAPE = /%(2[fF]|5[cC])/;

describe('normalizePath, on arbitrary input', () => {
  test('a safe result is rooted, has no empty, "." or ".." segment, no escaped or raw "/" "\\", and is idempotent', () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const r = normalizePath(raw);
        if (!r.safe) return;
        expect(r.path.startsWith('/')).toBe(true);
        const inner = r.path.slice(1).split('/');
        // Only the last segment may be empty (a trailing "/").
        inner.slice(0, -1).forEach((seg) => expect(seg).not.toBe(''));
        for (const seg of inner) expect(['.', '..']).not.toContain(seg);
        expect(SEGMENT_ESCAPE.test(r.path)).toBe(false);
        expect(/[\\\0-\x20\x7f]/.test(r.path)).toBe(false);
        const again = normalizePath(r.path);
        expect(again).toEqual({ path: r.path, query: '', safe: true });
        expect(normalizePath(`${r.path}?${r.query}`)).toEqual({ path: r.path, query: r.query, safe: true });
      }),
      fuzzParameters(40_000),
    );
  });

  test('an unsafe input stays unsafe when normalized again, and keeps its raw path and query', () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const r = normalizePath(raw);
        if (r.safe) return;
        expect(raw.startsWith(r.path)).toBe(true);
        expect(normalizePath(r.path).safe).toBe(false);
        expect(normalizePath(`${r.path}?${r.query}`)).toEqual(r);
      }),
      fuzzParameters(10_000),
    );
  });
});

import type { AuthClient } from '../../src/server/auth-client';
import { ConfigLeases } from '../../src/server/runtime/config-leases';
import type { LoadedConfig } from '../../src/server/runtime/attach-clients';

// The bookkeeping behind "a retired pool closes after its last check": configs and pools are
// stand-ins holding only what ConfigLeases reads (a config's pools); the pools are never called.

function pool(name: string): AuthClient {
  return { identity: name } as unknown as AuthClient;
}

function config(...pools: AuthClient[]): LoadedConfig {
  return { pools } as unknown as LoadedConfig;
}

function leases(initial: LoadedConfig): { leases: ConfigLeases; retired: string[] } {
  const retired: string[] = [];
  return { leases: new ConfigLeases(initial, (c) => retired.push(c.identity)), retired };
}

const [a, b, c] = ['a', 'b', 'c'].map(pool);

test('with no check running, a swap retires at once the pools the new config dropped, and only those', () => {
  const { leases: l, retired } = leases(config(a, b));
  l.swap(config(a, c));
  expect(retired).toEqual(['b']);
  expect(l.pools().map((p) => p.identity)).toEqual(['a', 'c']);
});

test('a pool dropped by a reload is retired when the last check of the old config ends', () => {
  const first = config(a, b);
  const { leases: l, retired } = leases(first);
  l.acquire(first);
  l.acquire(first);
  l.swap(config(a));
  expect(retired).toEqual([]);
  l.release(first);
  expect(retired).toEqual([]);
  l.release(first);
  expect(retired).toEqual(['b']);
});

test('through several reloads, a pool lives while any config holding it has a check running', () => {
  const one = config(a, b);
  const two = config(b, c);
  const { leases: l, retired } = leases(one);
  l.acquire(one);
  l.swap(two);
  // `a` is held by `one` (a check runs), `b` by both.
  expect(retired).toEqual([]);
  l.acquire(two);
  l.swap(config(c));
  expect(retired).toEqual([]);
  l.release(two);
  // `two` is done, but `one` still holds `b`.
  expect(retired).toEqual([]);
  l.release(one);
  expect(retired.sort()).toEqual(['a', 'b']);
  expect(l.pools().map((p) => p.identity)).toEqual(['c']);
});

test('checks on the current config never retire its pools', () => {
  const current = config(a);
  const { leases: l, retired } = leases(current);
  for (let i = 0; i < 3; i++) l.acquire(current);
  for (let i = 0; i < 3; i++) l.release(current);
  expect(retired).toEqual([]);
  expect(l.pools()).toEqual([a]);
});

import { createHash, hash } from 'node:crypto';
import { DEFAULTS } from '../../config';
import { B3_PREFIX, TRACE_HEADERS, type AuthOutcome, type AuthRequest } from '../../translate';

/** The outcomes a cache may hold: an answer from the auth service, never the lack of one. */
export type CacheableOutcome = Exclude<AuthOutcome, { readonly kind: 'unavailable' }>;

const TRACE = new Set(TRACE_HEADERS);
const SEP = '\0';

/**
 * The cache key of an auth request: SHA-256 over a canonical encoding of the method, the path
 * (with query), every forwarded header sorted by name, and the body. Hashing keeps tokens and
 * cookies out of the map, so a heap dump or a debug print of keys shows no credential.
 *
 * Trace-context headers are left out: they differ on every request, so keying on them would
 * make every lookup a miss, and an auth service does not decide on a span id.
 *
 * The encoding is unambiguous because `\0` cannot occur in any part: methods and header names
 * are HTTP tokens, paths visible ASCII, and buildAuthRequest refuses values holding NUL. The
 * body comes last, behind its length.
 */
export function decisionKey(req: AuthRequest): string {
  // One string and, without a body, one-shot hashing: each update of an incremental hash is a
  // call into native code, and the key is computed on every check of a cached or coalesced rule.
  let text = req.method + SEP + req.path + SEP;
  const names = Object.keys(req.headers).sort();
  for (const name of names) {
    if (TRACE.has(name) || name.startsWith(B3_PREFIX)) continue;
    text += name + SEP + req.headers[name] + SEP;
  }
  if (!req.body) return hash('sha256', `${text}-${SEP}`, 'base64');
  return createHash('sha256').update(`${text}${req.body.length}${SEP}`).update(req.body).digest('base64');
}

/**
 * How long the auth service lets its answer be reused, in ms, capped by the rule's ttl; 0 when
 * it may not be stored. The adapter cannot revalidate, so `no-cache` counts as `no-store`.
 * `private` does not stop storing here: the key holds every header the service saw, credentials
 * included, so an entry only ever answers the exact request (same token) it was made for. A
 * request with no token has no such key; `sharing-policy.ts` keeps those answers out.
 * When several lifetimes are given (`max-age`, `s-maxage`, repeats), the shortest wins; an
 * unreadable one means "do not store" rather than a guess.
 */
export function freshnessMs(cacheControl: string | readonly string[] | undefined, ttlMs: number): number {
  if (cacheControl === undefined) return ttlMs;
  const text = typeof cacheControl === 'string' ? cacheControl : cacheControl.join(',');
  let lifetime = ttlMs;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    switch (name) {
      case 'no-store':
      case 'no-cache':
        return 0;
      case 'max-age':
      case 's-maxage': {
        const raw =
          eq === -1
            ? ''
            : part
                .slice(eq + 1)
                .trim()
                .replace(/^"(.*)"$/, '$1');
        if (!/^\d+$/.test(raw)) return 0;
        lifetime = Math.min(lifetime, Number(raw) * 1000);
        break;
      }
      default:
        break;
    }
  }
  return lifetime;
}

interface Entry {
  readonly outcome: CacheableOutcome;
  readonly expiresAt: number;
  readonly bytes: number;
}

/** What a cache needs of `cache:`; `maxBytes` falls back to the documented default. */
export interface CacheLimits {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxBytes?: number;
}

/**
 * A rough allowance for what an entry costs besides its key, headers and body (the Map slot,
 * the entry and outcome objects, array headers), so that many tiny entries still count.
 */
const ENTRY_OVERHEAD_BYTES = 256;

/**
 * One rule's decision cache: allow and deny outcomes by `decisionKey`, each kept for
 * `freshnessMs` of the answer it came from, at most `maxEntries` at once and at most `maxBytes`
 * of keys, headers and bodies, least recently used evicted first. Denial pages can be large and
 * anonymous requests many, so an entry bound alone would let memory grow with both. A reload
 * keeps a rule's cache only if its answers still mean the same (kept-cache.ts).
 */
export class DecisionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private held = 0;

  /** `now` is a monotonic clock in ms; tests pass their own. */
  constructor(
    settings: CacheLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ttlMs = settings.ttlMs;
    this.maxEntries = settings.maxEntries;
    this.maxBytes = settings.maxBytes ?? DEFAULTS.cacheMaxBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes held by the entries now, by the same count `maxBytes` bounds. */
  get bytes(): number {
    return this.held;
  }

  get(key: string): CacheableOutcome | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.held -= entry.bytes;
      return undefined;
    }
    // Re-inserting moves the key to the end of the Map's order: the most recently used.
    this.entries.set(key, entry);
    return entry.outcome;
  }

  /** Keeps `outcome` if it is an answer and the service's Cache-Control allows; says whether it did. */
  set(key: string, outcome: AuthOutcome, cacheControl: string | readonly string[] | undefined): boolean {
    if (outcome.kind === 'unavailable') return false;
    const lifetime = freshnessMs(cacheControl, this.ttlMs);
    if (lifetime <= 0) return false;
    const bytes = entryBytes(key, outcome);
    if (bytes > this.maxBytes) return false;
    this.remove(key);
    while (this.entries.size >= this.maxEntries || this.held + bytes > this.maxBytes) {
      this.remove(this.entries.keys().next().value as string);
    }
    // Frozen: every hit hands out this one object, which marks it as shared (see run-check.ts).
    this.entries.set(key, { outcome: Object.freeze(detach(outcome)), expiresAt: this.now() + lifetime, bytes });
    this.held += bytes;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
  }
}

function entryBytes(key: string, outcome: CacheableOutcome): number {
  let bytes = ENTRY_OVERHEAD_BYTES + key.length;
  if (outcome.kind === 'deny') {
    bytes += outcome.body.length;
    for (const [name, value] of outcome.headers) bytes += name.length + value.length;
  } else {
    let held = 0;
    for (const [name, value] of outcome.headersToSet) held += name.length + value.length;
    for (const name of outcome.headersToRemove) held += name.length;
    for (const [name, value] of outcome.headersToAppend ?? []) held += name.length + value.length;
    for (const [name, value] of outcome.clientHeaders ?? []) held += name.length + value.length;
    for (const name of outcome.removeRequested ?? []) held += name.length;
    for (const name in outcome.metadata) held += name.length + (outcome.metadata[name]?.length ?? 0);
    // Twice: a hit's answer is encoded once and kept as long as the entry (run-check.ts).
    return bytes + 2 * held;
  }
  const { metadata } = outcome;
  if (metadata) for (const name in metadata) bytes += name.length + metadata[name].length;
  return bytes;
}

/**
 * A denial body may be a view into a larger socket buffer; a private copy keeps each entry's
 * memory to the body's own size for as long as it is cached.
 */
function detach(outcome: CacheableOutcome): CacheableOutcome {
  if (outcome.kind !== 'deny' || outcome.body.length === outcome.body.buffer.byteLength) return outcome;
  return { ...outcome, body: Buffer.from(outcome.body) };
}

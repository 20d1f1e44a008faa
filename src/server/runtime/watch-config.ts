import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../observability';

const DEBOUNCE_MS = 100;
/** How long the text must stay the same before it is taken as complete. */
const SETTLE_MS = 250;
/** Reads of a file that keeps changing before this round gives up; the next change starts another. */
const MAX_READS = 40;

export interface WatchOptions {
  /**
   * Waits `ms` between two reads of a changed file, which must agree before it is applied.
   * Tests pass their own, to pause a writer between its halves without racing a timer.
   */
  readonly settle?: (ms: number) => Promise<void>;
}

export interface ConfigWatch {
  close(): void;
}

/** The file's text, or why it could not be read; two reads agree when these are equal. */
type Read = { readonly text: string } | { readonly error: string };

/**
 * Calls `changed` with the config file's text once it has changed and stopped changing.
 *
 * - The directory is watched, not the file: editors and Kubernetes ConfigMaps replace the file
 *   (rename, symlink swap), and a watch on the old file would never fire again.
 * - When the path is a symlink into another directory, that directory is watched too, so an edit
 *   of the target in place is seen; the target is looked up again after every change, since a
 *   ConfigMap swap points the link elsewhere.
 * - A file written in place (editors, `kubectl cp`) is read, then read again after a settle: only
 *   two equal reads are passed on, so a half-written file that happens to be valid YAML is never
 *   applied. A writer pausing longer than the settle can still be caught midway: writing aside
 *   and renaming over the file is the safe way (docs/reliability.md).
 *
 * `changed` gets undefined when the file cannot be read (twice alike), so the reload reports it.
 * Changes to other files in the watched directories cost two reads and nothing else.
 */
export function watchConfigFile(
  file: string,
  logger: Logger,
  changed: (text: string | undefined) => void,
  options: WatchOptions = {},
): ConfigWatch {
  const settle = options.settle ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const linkDir = path.dirname(path.resolve(file));
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running = false;
  let again = false;

  const onEvent = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void round(), DEBOUNCE_MS);
  };

  const watchDir = (dir: string): void => {
    if (watchers.has(dir)) return;
    try {
      const watcher = watch(dir, onEvent);
      watcher.on('error', (err) => {
        logger.warn({ err, dir }, 'config file watch failed; SIGHUP still reloads');
        watcher.close();
        watchers.delete(dir);
      });
      watchers.set(dir, watcher);
    } catch (err) {
      logger.warn({ err, dir }, 'cannot watch the config directory; SIGHUP still reloads');
    }
  };

  // Synchronous, so the watches are in place when watchConfigFile returns.
  const refreshWatches = (): void => {
    let target = linkDir;
    try {
      target = path.dirname(realpathSync(file));
    } catch {
      // No file (yet): the link's directory alone will see it appear.
    }
    for (const [dir, watcher] of watchers) {
      if (dir !== linkDir && dir !== target) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    watchDir(linkDir);
    watchDir(target);
  };

  const stableRead = async (): Promise<Read | undefined> => {
    let last = await readText(file);
    for (let i = 1; i < MAX_READS && !closed; i++) {
      await settle(SETTLE_MS);
      if (closed) return undefined;
      const next = await readText(file);
      if (sameRead(last, next)) return next;
      last = next;
    }
    if (!closed) logger.warn({ file }, 'config file kept changing; not reloaded until it settles');
    return undefined;
  };

  // One round at a time; a change during a round runs one more after it.
  const round = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const read = await stableRead();
        if (read && !closed) changed('text' in read ? read.text : undefined);
        if (!closed) refreshWatches();
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  refreshWatches();
  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

async function readText(file: string): Promise<Read> {
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

function sameRead(a: Read, b: Read): boolean {
  return 'text' in a ? 'text' in b && a.text === b.text : 'error' in b && a.error === b.error;
}

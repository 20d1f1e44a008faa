import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../observability';

const DEBOUNCE_MS = 100;

/**
 * Calls `changed` once the config file's directory settles after a change. The directory is
 * watched, not the file: editors and Kubernetes ConfigMaps replace the file (rename, symlink
 * swap) rather than rewrite it, and a watch on the old file would never fire again. The caller
 * compares the text, so changes to other files in the directory cost a read and nothing else.
 */
export function watchConfigFile(file: string, logger: Logger, changed: () => void): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(path.dirname(path.resolve(file)), () => {
    clearTimeout(timer);
    timer = setTimeout(changed, DEBOUNCE_MS);
  });
  watcher.on('error', (err) => logger.warn({ err }, 'config file watch failed; SIGHUP still reloads'));
  watcher.on('close', () => clearTimeout(timer));
  return watcher;
}

import type { Counter } from 'prom-client';
import { ConfigError, redactUrls } from '../../config';
import { compileConfig, readConfigText, type CompiledConfig } from '../check';
import type { Logger } from '../observability';
import { pinRestartSettings } from './restart-settings';

const RESTART_WARNING = 'config reloaded, but these settings keep their running values until a restart';

export interface ReloadOptions {
  /** The text to apply instead of reading the file: what the primary validated (cluster workers), or what the file watch read once it settled. */
  readonly text?: string;
  /** Skip a file event that left the text as it was (another file in the directory changed). */
  readonly onlyIfChanged?: boolean;
}

/**
 * The reload sequence shared by a single process and a cluster primary: one reload at a time;
 * read the file, compile it completely, and only then hand it to `apply`; count and log the
 * result. An invalid config is logged and counted, and the old one keeps serving.
 */
export class ConfigReloader {
  private queue: Promise<boolean> = Promise.resolve(true);
  private stopped = false;

  constructor(
    private readonly file: string,
    /** The text in force; remembered even when rejected, so an invalid file is reported once, not on every directory event. */
    private lastText: string,
    private current: CompiledConfig,
    private readonly logger: Logger,
    /** Absent in cluster workers: the primary counts reloads, so workers would double them. */
    private readonly counter: Counter<'result'> | undefined,
    private readonly apply: (next: CompiledConfig, text: string) => void,
  ) {}

  reload(options: ReloadOptions = {}): Promise<boolean> {
    this.queue = this.queue.then(() => this.reloadNow(options));
    return this.queue;
  }

  /** No reload starts after this; resolves once the one under way, if any, has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
  }

  private async reloadNow({ text: given, onlyIfChanged = false }: ReloadOptions): Promise<boolean> {
    if (this.stopped) return false;
    let text: string;
    let compiled: CompiledConfig;
    try {
      text = given ?? (await readConfigText(this.file));
      if (onlyIfChanged && text === this.lastText) return true;
      this.lastText = text;
      compiled = await compileConfig(text, this.file);
    } catch (err) {
      this.counter?.inc({ result: 'failure' });
      const issues = err instanceof ConfigError ? err.issues : [{ path: '', message: redactUrls((err as Error).message) }];
      this.logger.error({ file: this.file, issues }, 'config reload rejected; the previous config keeps serving');
      return false;
    }
    const { config: next, pinned } = pinRestartSettings(this.current, compiled);
    this.apply(next, text);
    this.current = next;
    this.counter?.inc({ result: 'success' });
    if (pinned.length > 0) this.logger.warn({ settings: pinned }, RESTART_WARNING);
    this.logger.info({ rules: next.rules.length }, 'config reloaded');
    return true;
  }
}

import type { AuthClient } from '../auth-client';
import type { ServingConfig } from '../check';
import type { LoadedConfig } from './attach-clients';

/**
 * Which configs are still in use, so that a pool is closed only once no check can reach it.
 * A config is in use while it is the current one or a check that started under it is still
 * running; a pool is in use while any config in use holds it. A reload that retires a pool thus
 * closes it after the last check of every config holding it has finished: a check runs to its
 * end on the config and pools it started with, whatever reloads happen meanwhile.
 */
export class ConfigLeases {
  private current: LoadedConfig;
  /** Checks running, per config they started on. */
  private readonly checks = new Map<ServingConfig, number>();
  /** Configs replaced while checks still ran on them, for their pools. */
  private readonly retired = new Map<ServingConfig, LoadedConfig>();
  /** Configs in use holding each pool. */
  private readonly holders = new Map<AuthClient, number>();

  /** `retire` is called once for each pool no config in use holds any more. */
  constructor(
    initial: LoadedConfig,
    private readonly retire: (client: AuthClient) => void,
  ) {
    this.current = initial;
    this.hold(initial);
  }

  /**
   * A check starts on `config`, the current one read just before: held until `release(config)`.
   * Each acquire needs exactly one release.
   */
  acquire(config: ServingConfig): void {
    this.checks.set(config, (this.checks.get(config) ?? 0) + 1);
  }

  release(config: ServingConfig): void {
    const left = (this.checks.get(config) ?? 0) - 1;
    if (left > 0) {
      this.checks.set(config, left);
      return;
    }
    this.checks.delete(config);
    const retired = this.retired.get(config);
    if (retired) {
      this.retired.delete(config);
      this.drop(retired);
    }
  }

  /** Makes `next` current; the previous config's pools are retired once its checks are done. */
  swap(next: LoadedConfig): void {
    const previous = this.current;
    this.hold(next);
    this.current = next;
    if (this.checks.has(previous)) this.retired.set(previous, previous);
    else this.drop(previous);
  }

  /** Every pool a config in use holds: the current ones and those still draining. */
  pools(): AuthClient[] {
    return [...this.holders.keys()];
  }

  private hold(config: LoadedConfig): void {
    for (const client of config.pools) this.holders.set(client, (this.holders.get(client) ?? 0) + 1);
  }

  private drop(config: LoadedConfig): void {
    for (const client of config.pools) {
      const left = (this.holders.get(client) ?? 0) - 1;
      if (left > 0) {
        this.holders.set(client, left);
      } else {
        this.holders.delete(client);
        this.retire(client);
      }
    }
  }
}

/**
 * Shares one in-flight call among concurrent callers with the same key: the first caller starts
 * it, later ones get the same promise until it settles. A settled call, resolved or rejected, is
 * forgotten at once, so a failure reaches only the callers that were already waiting and the
 * next caller tries afresh.
 *
 * At most `maxKeys` calls are tracked; past that, callers run their own call unshared, which
 * costs an extra auth call but never blocks or drops a check.
 *
 * The shared call must not depend on one caller's cancellation: if the first caller gave up,
 * the others would get its cancellation. Callers that need to stop waiting race their own signal
 * against the shared promise.
 */
export class Coalescer<T> {
  private readonly inFlight = new Map<string, Promise<T>>();
  private joined = 0;

  constructor(private readonly maxKeys: number) {}

  /** Calls in flight now, one per distinct key. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Callers so far that got another caller's call instead of starting their own. */
  get sharedCount(): number {
    return this.joined;
  }

  run(key: string, call: () => Promise<T>): Promise<T> {
    const pending = this.inFlight.get(key);
    if (pending) {
      this.joined++;
      return pending;
    }
    if (this.inFlight.size >= this.maxKeys) return call();
    const promise = call();
    this.inFlight.set(key, promise);
    const forget = (): void => {
      this.inFlight.delete(key);
    };
    promise.then(forget, forget);
    return promise;
  }
}

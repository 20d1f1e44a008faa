/**
 * One rule's bound on auth calls in flight (`service.maxConcurrent`). Rules that reach the same
 * service share its connection pool (bounded by `service.connections`), but each counts its own
 * calls here, so one rule's traffic can never use up another's room.
 */
export class ConcurrencyLimit {
  private active = 0;

  constructor(readonly max: number) {}

  get inFlight(): number {
    return this.active;
  }

  /** Takes a slot if one is free; the caller must `release` it exactly once when the call ends. */
  tryAcquire(): boolean {
    if (this.active >= this.max) return false;
    this.active++;
    return true;
  }

  release(): void {
    this.active--;
  }
}

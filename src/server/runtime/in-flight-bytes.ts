/**
 * The bound on CheckRequest bytes held by all checks in flight (`grpc.maxInFlightBytes`). Each
 * check holds its request's wire size from the moment it arrives until it is answered; grpc-js
 * alone bounds one request (`grpc.maxRequestBytes`), never how many large ones wait on a slow
 * auth service at once. The wire size stands in for the heap a check holds, which is a small
 * multiple of it (the decoded message and the auth request built from it).
 */
export class InFlightBytes {
  private total = 0;

  get held(): number {
    return this.total;
  }

  /** Charges `size` if the total stays within `max`; a true answer owes one `release(size)` once the check is answered. */
  admit(size: number, max: number): boolean {
    if (this.total + size > max) return false;
    this.total += size;
    return true;
  }

  release(size: number): void {
    this.total -= size;
  }
}

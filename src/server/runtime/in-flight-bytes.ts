import type * as grpc from '@grpc/grpc-js';

/**
 * The bound on CheckRequest bytes held by all checks in flight (`grpc.maxInFlightBytes`). Each
 * check holds its request's wire size from the moment it is decoded until it is answered; grpc-js
 * alone bounds one request (`grpc.maxRequestBytes`), never how many large ones wait on a slow
 * auth service at once. The wire size stands in for the heap a check holds, which is a small
 * multiple of it (the decoded message and the auth request built from it).
 */
export class InFlightBytes {
  private total = 0;
  private readonly sizes = new WeakMap<object, number>();

  get held(): number {
    return this.total;
  }

  /**
   * `service` with its request decoder noting each request's wire size, so the handler can
   * charge it. A WeakMap rather than a field on the message: the decoded message stays
   * protobufjs's own shape, and a refused one is freed with no bookkeeping left behind.
   */
  measure(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
    const measured: Record<string, grpc.MethodDefinition<object, unknown>> = {};
    for (const [name, method] of Object.entries(service) as Array<[string, grpc.MethodDefinition<object, unknown>]>) {
      measured[name] = {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          const message = method.requestDeserialize(bytes);
          this.sizes.set(message, bytes.length);
          return message;
        },
      };
    }
    return measured as grpc.ServiceDefinition;
  }

  /**
   * Charges `request`'s size if the total stays within `max`; returns the release to call
   * exactly once when the check is answered, or undefined when the check must be refused.
   */
  admit(request: object, max: number): (() => void) | undefined {
    const size = this.sizes.get(request) ?? 0;
    if (this.total + size > max) return undefined;
    this.total += size;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= size;
    };
  }
}

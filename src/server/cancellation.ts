/**
 * "Nobody is waiting for this check any more", said once. A check needs only this of an
 * AbortSignal, and a Node AbortSignal is an EventTarget: building one per check and one per auth
 * call, with their listeners, cost about a tenth of the auth path's CPU.
 */
export class Cancellation {
  private listener: (() => void) | undefined;
  private done = false;

  get cancelled(): boolean {
    return this.done;
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }

  /**
   * Sets the one thing to run on cancellation (undefined clears it). One is enough: a check makes
   * its auth calls one after another.
   */
  onCancel(listener: (() => void) | undefined): void {
    this.listener = listener;
  }
}

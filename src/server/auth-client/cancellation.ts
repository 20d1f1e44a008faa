/**
 * "Nobody is waiting for this check any more", said once. A check needs only this of an
 * AbortSignal, and a Node AbortSignal is an EventTarget: building one per check and one per auth
 * call, with their listeners, was a measurable share of the auth path's CPU.
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

/**
 * `promise`, or `onCancel` as soon as `cancel` fires, whichever comes first. The promise itself
 * runs on: a caller that joined a shared call leaves it, and the call goes on for the others.
 */
export function unlessCancelled<T>(promise: Promise<T>, cancel: Cancellation, onCancel: T): Promise<T> {
  if (cancel.cancelled) return Promise.resolve(onCancel);
  return new Promise<T>((resolve, reject) => {
    cancel.onCancel(() => resolve(onCancel));
    promise.then(
      (value) => {
        cancel.onCancel(undefined);
        resolve(value);
      },
      (err: unknown) => {
        cancel.onCancel(undefined);
        reject(err);
      },
    );
  });
}

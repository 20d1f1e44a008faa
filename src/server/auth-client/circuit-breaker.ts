import type { CircuitBreakerSettings } from '../../config';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * What one call said about the auth service. Only `not_answering` (connect failure, reset before
 * any response byte, timeout on the wire) counts toward opening; `answered` is any HTTP response,
 * a 5xx included; `neutral` is everything a client or the adapter itself can cause (cancelled,
 * refused request, a call that waited for a busy pool, a malformed or cut response).
 */
export type BreakerOutcome = 'answered' | 'not_answering' | 'neutral';

/** `call`: closed, go ahead; `probe`: the one half-open call; `reject`: answer "unavailable" at once. */
export type Admission = 'call' | 'probe' | 'reject';

export type TransitionListener = (from: BreakerState, to: BreakerState) => void;

/**
 * A circuit breaker for one auth-service pool. After `failures` consecutive `not_answering`
 * outcomes it opens; after `openForMs` on the injected clock one probe call goes through
 * (half-open): an answer closes it, `not_answering` opens it again, a neutral outcome lets the
 * next call probe instead.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  private listener: TransitionListener | undefined;

  constructor(
    readonly settings: CircuitBreakerSettings,
    private readonly now: () => number,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** One listener (the runtime's logger); replaced on each config load, as pools outlive configs. */
  onTransition(listener: TransitionListener | undefined): void {
    this.listener = listener;
  }

  admit(): Admission {
    if (this.current === 'closed') return 'call';
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.settings.openForMs) return 'reject';
      this.move('half_open');
    }
    if (this.probing) return 'reject';
    this.probing = true;
    return 'probe';
  }

  record(admission: Exclude<Admission, 'reject'>, outcome: BreakerOutcome): void {
    if (admission === 'probe') {
      this.probing = false;
      if (outcome === 'answered') {
        this.consecutive = 0;
        this.move('closed');
      } else if (outcome === 'not_answering') {
        this.open();
      }
      return;
    }
    // Calls let through before it opened and ending after: the probe alone decides from here.
    if (this.current !== 'closed') return;
    if (outcome === 'answered') this.consecutive = 0;
    else if (outcome === 'not_answering' && ++this.consecutive >= this.settings.failures) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.consecutive = 0;
    this.move('open');
  }

  private move(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.listener?.(from, to);
  }
}

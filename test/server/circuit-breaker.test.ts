import { CircuitBreaker, type Admission, type BreakerOutcome, type BreakerState } from '../../src/server/auth-client/circuit-breaker';

// The breaker alone, on an injected clock: no sockets, no sleeps.

type Step =
  { readonly call: BreakerOutcome } | { readonly admit: Admission } | { readonly wait: number } | { readonly state: BreakerState };

function run(steps: readonly Step[]): { transitions: string[] } {
  let now = 1_000;
  const breaker = new CircuitBreaker({ failures: 3, openForMs: 5_000 }, () => now);
  const transitions: string[] = [];
  breaker.onTransition((from, to) => transitions.push(`${from}->${to}`));
  let held: Exclude<Admission, 'reject'> | undefined;
  steps.forEach((step, i) => {
    const where = `step ${i}: ${JSON.stringify(step)}`;
    if ('wait' in step) now += step.wait;
    else if ('state' in step) expect({ where, state: breaker.state }).toEqual({ where, state: step.state });
    else if ('admit' in step) {
      const admission = breaker.admit();
      expect({ where, admission }).toEqual({ where, admission: step.admit });
      if (admission !== 'reject') held = admission;
    } else {
      const admission = held ?? breaker.admit();
      held = undefined;
      if (admission === 'reject') throw new Error(`${where}: rejected`);
      breaker.record(admission, step.call);
    }
  });
  return { transitions };
}

const F: Step = { call: 'not_answering' };
const OK: Step = { call: 'answered' };
const N: Step = { call: 'neutral' };

describe('CircuitBreaker', () => {
  test.each<[string, Step[], string[]]>([
    [
      'opens after `failures` consecutive not-answering calls',
      [F, F, { state: 'closed' }, F, { state: 'open' }, { admit: 'reject' }],
      ['closed->open'],
    ],
    ['an answer in between starts the count again', [F, F, OK, F, F, { state: 'closed' }, F, { state: 'open' }], ['closed->open']],
    ['neutral outcomes neither count nor reset', [F, F, N, N, N, N, N, { state: 'closed' }, F, { state: 'open' }], ['closed->open']],
    ['a burst of neutral outcomes leaves it closed', Array.from({ length: 50 }, () => N), []],
    [
      'rejects until openFor has passed on the clock',
      [F, F, F, { wait: 4_999 }, { admit: 'reject' }, { wait: 1 }, { admit: 'probe' }],
      ['closed->open', 'open->half_open'],
    ],
    [
      'one probe at a time; an answer closes it',
      [F, F, F, { wait: 5_000 }, { admit: 'probe' }, { admit: 'reject' }, OK, { state: 'closed' }, { admit: 'call' }],
      ['closed->open', 'open->half_open', 'half_open->closed'],
    ],
    [
      'a probe that is not answered opens it again for openFor',
      [
        F,
        F,
        F,
        { wait: 5_000 },
        { admit: 'probe' },
        F,
        { state: 'open' },
        { wait: 4_999 },
        { admit: 'reject' },
        { wait: 1 },
        { admit: 'probe' },
      ],
      ['closed->open', 'open->half_open', 'half_open->open', 'open->half_open'],
    ],
    [
      'a neutral probe (cancelled, refused at the bound) lets the next call probe',
      [F, F, F, { wait: 5_000 }, { admit: 'probe' }, N, { state: 'half_open' }, { admit: 'probe' }, OK, { state: 'closed' }],
      ['closed->open', 'open->half_open', 'half_open->closed'],
    ],
    [
      'after closing, the count starts from zero',
      [F, F, F, { wait: 5_000 }, { admit: 'probe' }, OK, F, F, { state: 'closed' }, F, { state: 'open' }],
      ['closed->open', 'open->half_open', 'half_open->closed', 'closed->open'],
    ],
  ])('%s', (_name, steps, transitions) => {
    expect(run(steps).transitions).toEqual(transitions);
  });

  test('calls let through before it opened and ending after do not decide: only the probe does', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failures: 1, openForMs: 100 }, () => now);
    const early = breaker.admit();
    breaker.record(breaker.admit() as 'call', 'not_answering');
    expect(breaker.state).toBe('open');
    breaker.record(early as 'call', 'answered');
    expect(breaker.state).toBe('open');
    now = 100;
    expect(breaker.admit()).toBe('probe');
    breaker.record('call', 'answered');
    expect(breaker.state).toBe('half_open');
  });
});

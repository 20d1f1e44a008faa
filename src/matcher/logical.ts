import type { CheckInput, TracedMatcher } from './types';

/**
 * The combinators of a condition tree. `matches` short-circuits; `trace` records the nodes
 * that decided, in preorder: the first failing child of an AND, the first matching child of
 * an OR, and, for an OR that did not match, every child, since the question then is why
 * each one failed. An AND that held ends its branch: all its children held.
 */

export class AndMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly children: readonly TracedMatcher[],
  ) {}

  matches(input: CheckInput): boolean {
    const children = this.children;
    for (let i = 0; i < children.length; i++) {
      if (!children[i].matches(input)) return false;
    }
    return true;
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    for (const child of this.children) {
      if (!child.matches(input)) return child.trace(input, out);
    }
    return true;
  }
}

export class OrMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly children: readonly TracedMatcher[],
  ) {}

  matches(input: CheckInput): boolean {
    const children = this.children;
    for (let i = 0; i < children.length; i++) {
      if (children[i].matches(input)) return true;
    }
    return false;
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    for (const child of this.children) {
      if (child.matches(input)) return child.trace(input, out);
    }
    for (const child of this.children) child.trace(input, out);
    return false;
  }
}

export class NotMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly child: TracedMatcher,
  ) {}

  matches(input: CheckInput): boolean {
    return !this.child.matches(input);
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return !this.child.trace(input, out);
  }
}

/** A leaf whose outcome does not depend on the request: `any: true`, or a node that failed to compile. */
export class ConstMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly result: boolean,
  ) {}

  matches(): boolean {
    return this.result;
  }

  trace(_input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.result;
  }
}

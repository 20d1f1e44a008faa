/**
 * A header the adapter adds to every auth request of a rule (`request.headersToAdd`). Its value
 * may come from the environment (a shared secret from a Kubernetes Secret), so the resolved value
 * is held in a private field: serialised (/config, a log line, `JSON.stringify`) or inspected, a
 * static header shows its value as written, with `${NAME}` unresolved.
 */
export class StaticHeader {
  readonly #value: string;

  constructor(
    /** Lowercased. */
    readonly name: string,
    /** The value as written in the config. */
    readonly written: string,
    /** The value sent: `written` with each `${NAME}` replaced, as UTF-8 bytes in a latin1 string. */
    value: string,
  ) {
    this.#value = value;
  }

  get value(): string {
    return this.#value;
  }

  /** Whether the value is read from the environment. */
  get fromEnvironment(): boolean {
    return this.written.includes('${');
  }

  toJSON(): { name: string; value: string } {
    return { name: this.name, value: this.written };
  }
}

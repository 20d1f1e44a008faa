import type { CheckInput, StringMatcher, TracedMatcher } from './types';
import type { IpPrefix } from './cidr';
import { parseIp } from './cidr';

/** The normalized path without its query: what simple `path` conditions and `url_path` match. */
export const getPathOnly = (input: CheckInput): string => input.pathOnly;

/** A StringMatcher applied to one string field of the input (`url_path`, `requested_server_name`, simple `path`). */
export class StringFieldMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly get: (input: CheckInput) => string,
    private readonly value: StringMatcher,
  ) {}

  matches(input: CheckInput): boolean {
    return this.value.match(this.get(input));
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.matches(input);
  }
}

/** `destination_port` and `destination_port_range`: half-open [start, end). */
export class PortRangeMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly start: number,
    private readonly end: number,
  ) {}

  matches(input: CheckInput): boolean {
    const port = input.destinationPort;
    return port >= this.start && port < this.end;
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.matches(input);
  }
}

/** `destination_ip`: a CIDR range; an address of the other IP version, or none, never matches (as in Envoy). */
export class IpRangeMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly range: IpPrefix,
  ) {}

  matches(input: CheckInput): boolean {
    const ip = parseIp(input.destinationIp);
    if (ip === undefined || ip.v6 !== this.range.v6) return false;
    return ip.value >> this.range.shift === this.range.value >> this.range.shift;
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.matches(input);
  }
}

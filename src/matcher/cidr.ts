import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as one integer (32 or 128 bits), so a CIDR test is one shift and compare. */
export interface IpValue {
  readonly v6: boolean;
  readonly value: bigint;
}

/** A CIDR range: addresses whose top bits equal `value`'s, `shift` being the host bits. */
export interface IpPrefix extends IpValue {
  readonly shift: bigint;
}

function v4ToBigInt(text: string): bigint {
  let out = 0n;
  for (const part of text.split('.')) out = (out << 8n) | BigInt(Number(part));
  return out;
}

function v6ToBigInt(text: string): bigint {
  let tail = text;
  let v4Tail: bigint | undefined;
  const lastColon = tail.lastIndexOf(':');
  if (tail.includes('.', lastColon)) {
    v4Tail = v4ToBigInt(tail.slice(lastColon + 1));
    tail = `${tail.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = tail.split('::');
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest === undefined ? [] : rest ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = rest === undefined ? headGroups : [...headGroups, ...new Array<string>(missing).fill('0'), ...restGroups];
  let out = 0n;
  for (const g of groups) out = (out << 16n) | BigInt(parseInt(g, 16));
  if (v4Tail !== undefined) out = (out & ~0xffffffffn) | v4Tail;
  return out;
}

/** Parses a textual IPv4 or IPv6 address (a zone such as `%eth0` is ignored); undefined when it is neither. */
export function parseIp(text: string): IpValue | undefined {
  if (isIPv4(text)) return { v6: false, value: v4ToBigInt(text) };
  const zoneAt = text.indexOf('%');
  const bare = zoneAt === -1 ? text : text.slice(0, zoneAt);
  if (isIPv6(bare)) return { v6: true, value: v6ToBigInt(bare) };
  return undefined;
}

/** Builds a CIDR range; a message says what is wrong when the address or length is invalid. */
export function parseCidr(address: string, prefixLen: number): IpPrefix | string {
  const ip = parseIp(address);
  if (ip === undefined) return `expected an IPv4 or IPv6 address such as "10.0.0.0" or "fd00::", got ${JSON.stringify(address)}`;
  const bits = ip.v6 ? 128 : 32;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bits) {
    return `prefix_len must be a whole number from 0 to ${bits} for an IPv${ip.v6 ? 6 : 4} address, got ${prefixLen}`;
  }
  return { v6: ip.v6, value: ip.value, shift: BigInt(bits - prefixLen) };
}

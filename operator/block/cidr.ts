import { isIPv4, isIPv6 } from 'node:net';
import type { IpVersion } from '../../lib/config/cidr';

/** A CIDR block as numbers, so two spellings of one block (`2001:DB8::/32`, `2001:db8:0::/32`) compare equal. */
export interface Cidr {
  readonly version: IpVersion;
  /** The network address with the host bits cleared. */
  readonly network: bigint;
  readonly prefix: number;
  /** The canonical spelling: dotted quad, or RFC 5952 lower-case compressed IPv6. */
  readonly text: string;
  /** The text had bits set past the prefix (192.0.2.7/24). */
  readonly hostBitsSet: boolean;
}

/** Parses `address/prefix`; undefined when it is not a CIDR block. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!match) return undefined;
  const [, address, prefixText] = match;
  const prefix = Number(prefixText);
  const version: IpVersion | undefined = isIPv4(address) ? 'IPV4' : isIPv6(address) ? 'IPV6' : undefined;
  const bits = version === 'IPV4' ? 32 : 128;
  if (!version || prefix < 1 || prefix > bits) return undefined;
  const value = version === 'IPV4' ? BigInt(ipv4Number(address)) : ipv6Number(address);
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = value & mask;
  return {
    version,
    network,
    prefix,
    text: `${version === 'IPV4' ? formatIpv4(network) : formatIpv6(network)}/${prefix}`,
    hostBitsSet: network !== value,
  };
}

export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network === b.network && a.prefix === b.prefix;
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((total, octet) => total * 256 + Number(octet), 0);
}

function ipv6Number(address: string): bigint {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  // An IPv4 tail (::ffff:192.0.2.1) is the last two groups.
  const last = tail === undefined ? left : right;
  if (last.length > 0 && last[last.length - 1].includes('.')) {
    const v4 = ipv4Number(last.pop()!);
    last.push(Math.floor(v4 / 65536).toString(16), (v4 % 65536).toString(16));
  }
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((total, group) => (total << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
}

function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, index) => Number((value >> BigInt((7 - index) * 16)) & 0xffffn));
  // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes "::".
  let best = { start: -1, length: 1 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > best.length) best = { start, length };
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

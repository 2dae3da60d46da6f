import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * A set of CIDR blocks that answers "is this address in it?" for IPv4 and IPv6 alike. Node's
 * BlockList does the prefix arithmetic; this only parses the text and names a bad entry.
 */
export class AddressList {
  private readonly list = new BlockList();
  readonly size: number;

  /** Throws naming the first entry that is not a CIDR block such as 203.0.113.0/24. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
      const family = match && (isIPv4(match[1]) ? 'ipv4' : isIPv6(match[1]) ? 'ipv6' : undefined);
      const prefix = Number(match?.[2]);
      if (!match || !family || prefix > (family === 'ipv4' ? 32 : 128)) {
        throw new Error(`${JSON.stringify(cidr)} is not a CIDR block such as 203.0.113.0/24 or 2001:db8::/32`);
      }
      this.list.addSubnet(match[1], prefix, family);
    }
    this.size = cidrs.length;
  }

  has(ip: string): boolean {
    if (isIPv4(ip)) return this.list.check(ip, 'ipv4');
    if (isIPv6(ip)) return this.list.check(ip, 'ipv6');
    return false;
  }
}

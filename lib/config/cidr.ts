import { isIPv4, isIPv6 } from 'node:net';

export type IpVersion = 'IPV4' | 'IPV6';

/**
 * The IP version of a CIDR block as WAF IP sets want it, or undefined when the text is not one.
 * WAF accepts any prefix length except /0, which would match every address of that version.
 */
export function cidrVersion(cidr: string): IpVersion | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!match) return undefined;
  const [, address, lengthText] = match;
  const length = Number(lengthText);
  if (isIPv4(address)) return length >= 1 && length <= 32 ? 'IPV4' : undefined;
  if (isIPv6(address)) return length >= 1 && length <= 128 ? 'IPV6' : undefined;
  return undefined;
}

/** Splits CIDR blocks by IP version, because a WAF IP set holds one version only. */
export function cidrsByVersion(cidrs: readonly string[]): Record<IpVersion, string[]> {
  const result: Record<IpVersion, string[]> = { IPV4: [], IPV6: [] };
  for (const cidr of cidrs) {
    const version = cidrVersion(cidr);
    if (version) result[version].push(cidr);
  }
  return result;
}

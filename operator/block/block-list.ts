import { parseCidr, sameCidr, type Cidr } from './cidr';

/** What one add or remove did. */
export interface BlockListChange {
  /** False when the list already was as asked (the address was there, or was not). */
  readonly changed: boolean;
  /** Read-modify-write rounds it took: more than one when a concurrent change came first. */
  readonly attempts: number;
  /** The deployment that made a resource policy change live (WAF needs none). */
  readonly deploymentId?: string;
}

/** The deployment's block list, wherever it lives: WAF IP sets, or the REST API's resource policy. */
export interface BlockList {
  /** `waf` or `resource-policy`. */
  readonly kind: string;
  /** The AWS resource it changes: IP set ARNs, or the REST API id and stage. */
  readonly resource: string;
  list(): Promise<string[]>;
  /** `reason` goes where the target can keep it (a deployment's description); the CLI logs it always. */
  add(cidr: Cidr, reason?: string): Promise<BlockListChange>;
  remove(cidr: Cidr, reason?: string): Promise<BlockListChange>;
}

/**
 * The list with `cidr` added or removed, or undefined when that changes nothing. Entries are
 * compared as numbers and anything else in the list is kept exactly as it was written.
 */
export function changedList(current: readonly string[], action: 'add' | 'remove', cidr: Cidr): string[] | undefined {
  const matches = (entry: string) => {
    const parsed = parseCidr(entry);
    return parsed !== undefined && sameCidr(parsed, cidr);
  };
  if (action === 'add') return current.some(matches) ? undefined : [...current, cidr.text];
  const kept = current.filter((entry) => !matches(entry));
  return kept.length === current.length ? undefined : kept;
}

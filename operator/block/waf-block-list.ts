import { GetIPSetCommand, UpdateIPSetCommand, type WAFV2Client } from '@aws-sdk/client-wafv2';
import type { IpVersion } from '../../lib/config/cidr';
import { changedList, type BlockList, type BlockListChange } from './block-list';
import type { Cidr } from './cidr';

/** What WAF's IP set API needs to address one set. */
export interface IpSetRef {
  readonly name: string;
  readonly id: string;
  readonly scope: 'REGIONAL' | 'CLOUDFRONT';
  readonly region: string;
  readonly arn: string;
}

/** `arn:aws:wafv2:REGION:ACCOUNT:regional/ipset/NAME/ID` as name, id, scope and region. */
export function parseIpSetArn(arn: string): IpSetRef {
  const match = /^arn:aws[a-z-]*:wafv2:([a-z0-9-]+):\d{12}:(regional|global)\/ipset\/([\w-]+)\/([\w-]+)$/.exec(arn);
  if (!match) throw new Error(`not a WAF IP set ARN: ${JSON.stringify(arn)}`);
  const [, region, scope, name, id] = match;
  return { name, id, scope: scope === 'regional' ? 'REGIONAL' : 'CLOUDFRONT', region, arn };
}

export interface WafBlockListOptions {
  /** Rounds of read, change and write when other writers keep coming first. @default 10 */
  readonly maxAttempts?: number;
}

/**
 * The block list as WAF IP sets (one per IP version). WAF replaces a set's whole address list on
 * every update and takes the lock token of the read it was based on, answering
 * WAFOptimisticLockException when someone else wrote in between; then the set is read again and
 * the change applied to what is there now, so neither change is lost.
 */
export class WafBlockList implements BlockList {
  readonly kind = 'waf';
  readonly resource: string;
  private readonly maxAttempts: number;

  constructor(
    private readonly client: WAFV2Client,
    private readonly sets: Readonly<Record<IpVersion, IpSetRef>>,
    options: WafBlockListOptions = {},
  ) {
    this.resource = `${sets.IPV4.arn} ${sets.IPV6.arn}`;
    this.maxAttempts = options.maxAttempts ?? 10;
  }

  async list(): Promise<string[]> {
    const lists = await Promise.all(Object.values(this.sets).map(async (set) => (await this.read(set)).addresses));
    return lists.flat();
  }

  add(cidr: Cidr): Promise<BlockListChange> {
    return this.change('add', cidr);
  }

  remove(cidr: Cidr): Promise<BlockListChange> {
    return this.change('remove', cidr);
  }

  private async change(action: 'add' | 'remove', cidr: Cidr): Promise<BlockListChange> {
    const set = this.sets[cidr.version];
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.read(set);
      const addresses = changedList(current.addresses, action, cidr);
      if (!addresses) return { changed: false, attempts: attempt };
      try {
        await this.client.send(
          new UpdateIPSetCommand({
            Name: set.name,
            Id: set.id,
            Scope: set.scope,
            Addresses: addresses,
            // An update replaces every mutable field: the description is kept by sending it back.
            ...(current.description !== undefined ? { Description: current.description } : {}),
            LockToken: current.lockToken,
          }),
        );
        return { changed: true, attempts: attempt };
      } catch (error) {
        if ((error as { name?: string }).name !== 'WAFOptimisticLockException') throw error;
      }
    }
    throw new Error(`${set.name} kept changing under ${this.maxAttempts} attempts to ${action} ${cidr.text}; nothing was changed, try again`);
  }

  private async read(set: IpSetRef): Promise<{ addresses: string[]; description?: string; lockToken: string }> {
    const answer = await this.client.send(new GetIPSetCommand({ Name: set.name, Id: set.id, Scope: set.scope }));
    if (!answer.IPSet || !answer.LockToken) throw new Error(`GetIPSet returned no IP set or lock token for ${set.arn}`);
    return { addresses: answer.IPSet.Addresses ?? [], description: answer.IPSet.Description, lockToken: answer.LockToken };
  }
}

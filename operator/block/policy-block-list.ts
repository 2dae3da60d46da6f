import { CreateDeploymentCommand, GetRestApiCommand, UpdateRestApiCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { RESOURCE_POLICY_SIDS } from '../../lib/config/operator-handles';
import { changedList, type BlockList, type BlockListChange } from './block-list';
import type { Cidr } from './cidr';

interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}

/**
 * The policy text GetRestApi returns. API Gateway hands it back with its quotes backslash-escaped
 * (`{\"Version\":...}`), which is not JSON until they are undone.
 */
export function parseRestApiPolicy(text: string | undefined): PolicyDocument {
  if (!text) return { Version: '2012-10-17', Statement: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = JSON.parse(text.replace(/\\(["\\/])/g, '$1'));
  }
  const document = parsed as PolicyDocument;
  if (!Array.isArray(document.Statement)) throw new Error('the REST API resource policy has no Statement list');
  return document;
}

const SOURCE_IP = 'aws:SourceIp';

function blockedOf(policy: PolicyDocument): string[] {
  const statement = policy.Statement.find((candidate) => candidate.Sid === RESOURCE_POLICY_SIDS.blockList);
  const value = statement?.Condition?.IpAddress?.[SOURCE_IP];
  return value === undefined ? [] : [value].flat();
}

/** The policy with the block list's statement holding `cidrs` (none at all when empty: IAM refuses an empty list). */
function withBlocked(policy: PolicyDocument, cidrs: readonly string[]): PolicyDocument {
  const others = policy.Statement.filter((statement) => statement.Sid !== RESOURCE_POLICY_SIDS.blockList);
  if (cidrs.length === 0) return { ...policy, Statement: others };
  const invoke = policy.Statement.find((statement) => statement.Sid === RESOURCE_POLICY_SIDS.invoke);
  const existing = policy.Statement.find((statement) => statement.Sid === RESOURCE_POLICY_SIDS.blockList);
  const statement: Statement = {
    Sid: RESOURCE_POLICY_SIDS.blockList,
    Effect: 'Deny',
    Principal: existing?.Principal ?? invoke?.Principal ?? { AWS: '*' },
    Action: existing?.Action ?? 'execute-api:Invoke',
    // Deployed policies carry the API's full execute-api ARN; take the allow statement's.
    Resource: existing?.Resource ?? invoke?.Resource ?? 'execute-api:/*',
    Condition: { ...existing?.Condition, IpAddress: { [SOURCE_IP]: [...cidrs] } },
  };
  return { ...policy, Statement: [...others, statement] };
}

export interface ResourcePolicyBlockListOptions {
  /** Rounds of read, change, write and check when other writers keep coming first. @default 10 */
  readonly maxAttempts?: number;
  /**
   * How long a change that held is watched before it counts: a writer that read the policy before
   * this one wrote lands its older copy within about one API round trip. @default 2000
   */
  readonly settleMs?: number;
}

/**
 * The block list as the REST API resource policy's `BlockList` statement, for a deployment without
 * WAF. API Gateway has no lock token for the policy, so each write is read back: if a concurrent
 * writer replaced it with a policy that lacks this change, the change is applied again on top of
 * theirs (they do the same), so neither is lost. A policy takes effect only once deployed, so the
 * stage is redeployed after the change holds.
 */
export class ResourcePolicyBlockList implements BlockList {
  readonly kind = 'resource-policy';
  readonly resource: string;
  private readonly maxAttempts: number;
  private readonly settleMs: number;

  constructor(
    private readonly client: APIGatewayClient,
    private readonly restApiId: string,
    private readonly stageName: string,
    options: ResourcePolicyBlockListOptions = {},
  ) {
    this.resource = `${restApiId}/${stageName}`;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.settleMs = options.settleMs ?? 2000;
  }

  async list(): Promise<string[]> {
    return blockedOf(await this.read());
  }

  add(cidr: Cidr, reason?: string): Promise<BlockListChange> {
    return this.change('add', cidr, reason);
  }

  remove(cidr: Cidr, reason?: string): Promise<BlockListChange> {
    return this.change('remove', cidr, reason);
  }

  private async change(action: 'add' | 'remove', cidr: Cidr, reason?: string): Promise<BlockListChange> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const policy = await this.read();
      const cidrs = changedList(blockedOf(policy), action, cidr);
      if (!cidrs) return { changed: false, attempts: attempt };
      await this.client.send(
        new UpdateRestApiCommand({
          restApiId: this.restApiId,
          patchOperations: [{ op: 'replace', path: '/policy', value: JSON.stringify(withBlocked(policy, cidrs)) }],
        }),
      );
      // Written: does it still hold, also after a concurrent writer's older copy would have landed?
      // If not, that write won; go again on top of it.
      if (changedList(blockedOf(await this.read()), action, cidr)) continue;
      await new Promise((resolve) => setTimeout(resolve, this.settleMs));
      if (changedList(blockedOf(await this.read()), action, cidr)) continue;
      const deployment = await this.client.send(
        new CreateDeploymentCommand({
          restApiId: this.restApiId,
          stageName: this.stageName,
          description: `npm run block: ${action} ${cidr.text}${reason ? ` (${reason})` : ''}`.slice(0, 1024),
        }),
      );
      return { changed: true, attempts: attempt, ...(deployment.id ? { deploymentId: deployment.id } : {}) };
    }
    throw new Error(`the resource policy of ${this.restApiId} kept changing under ${this.maxAttempts} attempts to ${action} ${cidr.text}; try again`);
  }

  private async read(): Promise<PolicyDocument> {
    const api = await this.client.send(new GetRestApiCommand({ restApiId: this.restApiId }));
    return parseRestApiPolicy(api.policy);
  }
}

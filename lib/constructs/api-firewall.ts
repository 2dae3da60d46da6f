import { Fn } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { cidrsByVersion, IpVersion } from '../config/cidr';

export interface ManagedRuleSwitches {
  /** AWSManagedRulesCommonRuleSet (OWASP-style generic protections). */
  readonly common: boolean;
  /** AWSManagedRulesKnownBadInputsRuleSet (exploit payloads such as Log4Shell). */
  readonly knownBadInputs: boolean;
  /** AWSManagedRulesAmazonIpReputationList (addresses Amazon threat intelligence flags). */
  readonly ipReputation: boolean;
}

export interface ApiFirewallProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** Requests one IP may make per window before it is answered 429. */
  readonly rateLimit: number;
  /** Window of the rate rule: 60, 120, 300 or 600 seconds. */
  readonly rateWindowSeconds: number;
  /** Always blocked. */
  readonly blockCidrs: readonly string[];
  /** Never rate limited or checked by managed rules (the block list still applies). */
  readonly allowCidrs: readonly string[];
  /** Block every address that is not in allowCidrs. @default false */
  readonly allowListOnly?: boolean;
  readonly managedRules: ManagedRuleSwitches;
  /** Prefix of the CloudWatch metric names of the rules. @default 'api' */
  readonly metricPrefix?: string;
}

/** Names of the rules (also their CloudWatch `Rule` dimension values). */
export const FIREWALL_RULES = {
  blockList: 'BlockList',
  allowList: 'AllowList',
  rateLimit: 'RateLimitPerIp',
  common: 'AWSManagedRulesCommonRuleSet',
  knownBadInputs: 'AWSManagedRulesKnownBadInputsRuleSet',
  ipReputation: 'AWSManagedRulesAmazonIpReputationList',
} as const;

const RATE_LIMITED_BODY = 'rate-limited';

/** Rules and rule groups a web ACL with these settings holds (each is billed monthly). */
export function firewallRuleCount(props: Pick<ApiFirewallProps, 'blockCidrs' | 'allowCidrs' | 'managedRules'>): number {
  const managed = Object.values(props.managedRules).filter(Boolean).length;
  return (props.blockCidrs.length > 0 ? 1 : 0) + (props.allowCidrs.length > 0 ? 1 : 0) + 1 + managed;
}

/** A regional WAF web ACL on the API stage: block list, allow list, per-IP rate limit, managed rules. */
export class ApiFirewall extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  /** The web ACL's name, the `WebACL` dimension of its CloudWatch metrics. */
  public readonly webAclName: string;
  /** Number of rules and rule groups, each billed monthly. */
  public readonly ruleCount: number;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    if (props.allowListOnly && props.allowCidrs.length === 0) {
      throw new Error('allowListOnly needs at least one CIDR in allowCidrs');
    }
    const metricPrefix = props.metricPrefix ?? 'api';
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${metricPrefix}-${name}`,
    });

    const blockSets = this.ipSets('Block', props.blockCidrs);
    if (blockSets.length > 0) {
      rules.push({
        name: FIREWALL_RULES.blockList,
        priority: rules.length,
        action: { block: {} },
        statement: anyOf(blockSets),
        visibilityConfig: visibility(FIREWALL_RULES.blockList),
      });
    }
    const allowSets = this.ipSets('Allow', props.allowCidrs);
    if (allowSets.length > 0) {
      rules.push({
        name: FIREWALL_RULES.allowList,
        priority: rules.length,
        // Allow ends evaluation: listed addresses skip the rate limit and the managed rules.
        action: { allow: {} },
        statement: anyOf(allowSets),
        visibilityConfig: visibility(FIREWALL_RULES.allowList),
      });
    }
    rules.push({
      name: FIREWALL_RULES.rateLimit,
      priority: rules.length,
      action: {
        // WAF prefixes custom headers with x-amzn-waf-, so a Retry-After header is not possible;
        // the body says when to retry instead.
        block: { customResponse: { responseCode: 429, customResponseBodyKey: RATE_LIMITED_BODY } },
      },
      statement: {
        rateBasedStatement: {
          limit: props.rateLimit,
          evaluationWindowSec: props.rateWindowSeconds,
          aggregateKeyType: 'IP',
        },
      },
      visibilityConfig: visibility(FIREWALL_RULES.rateLimit),
    });
    const managed: Array<[keyof ManagedRuleSwitches, wafv2.CfnWebACL.RuleActionOverrideProperty[]]> = [
      // The gateway itself answers oversized bodies with 413 at LIMITS.maxBodyBytes, which is above
      // this rule's 8 KB; counting instead of blocking keeps that answer consistent.
      ['common', [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]],
      ['knownBadInputs', []],
      ['ipReputation', []],
    ];
    for (const [key, overrides] of managed) {
      if (!props.managedRules[key]) continue;
      const name = FIREWALL_RULES[key];
      rules.push({
        name,
        priority: rules.length,
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name,
            ...(overrides.length > 0 ? { ruleActionOverrides: overrides } : {}),
          },
        },
        visibilityConfig: visibility(name),
      });
    }

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'serverless-diffusion public API',
      defaultAction: props.allowListOnly ? { block: {} } : { allow: {} },
      rules,
      customResponseBodies: {
        [RATE_LIMITED_BODY]: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({
            error: {
              code: 'rate_limited',
              message: 'Too many requests from your address; please wait a few minutes.',
              retry_after_seconds: props.rateWindowSeconds,
            },
          }),
        },
      },
      visibilityConfig: visibility('all'),
    });
    // A web ACL's Ref is `name|id|scope`.
    this.webAclName = Fn.select(0, Fn.split('|', this.webAcl.ref));
    this.ruleCount = rules.length;

    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }

  private ipSets(kind: string, cidrs: readonly string[]): wafv2.CfnIPSet[] {
    const byVersion = cidrsByVersion(cidrs);
    return (Object.keys(byVersion) as IpVersion[])
      .filter((version) => byVersion[version].length > 0)
      .map(
        (version) =>
          new wafv2.CfnIPSet(this, `${kind}${version}`, {
            scope: 'REGIONAL',
            ipAddressVersion: version,
            addresses: byVersion[version],
            description: `serverless-diffusion ${kind.toLowerCase()} list ${version}`,
          }),
      );
  }
}

function anyOf(sets: readonly wafv2.CfnIPSet[]): wafv2.CfnWebACL.StatementProperty {
  const statements = sets.map((set) => ({ ipSetReferenceStatement: { arn: set.attrArn } }));
  return statements.length === 1 ? statements[0] : { orStatement: { statements } };
}

import { Fn } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { apiErrorBodySchema, type ApiErrorBody } from '../../contract/errors';
import { LIMITS } from '../../contract/limits';
import { ROUTES } from '../../contract/routes';
import { cidrsByVersion, IpVersion } from '../config/cidr';

/**
 * AWS managed rule groups, $1 a month each. On an API that takes only JSON checked against a strict
 * schema, stores nothing it renders as HTML and runs no SQL, shell or file paths, most of them
 * guard against attacks that cannot land; the one that earns its place by default is the one that
 * stops the per-address limits from being multiplied.
 */
export interface ManagedRuleSwitches {
  /**
   * AWSManagedRulesAnonymousIpList: VPNs, Tor exits, proxies and hosting providers. Every new
   * address gets fresh per-address quotas, and cloud and proxy addresses are the cheap way to get
   * many; people generating images from a browser rarely come from a data centre.
   */
  readonly anonymousIp: boolean;
  /**
   * AWSManagedRulesAmazonIpReputationList: addresses Amazon's threat intelligence sees attacking.
   * Off by default: their requests are bounded here like anyone's, by the rate rules and quotas.
   */
  readonly ipReputation: boolean;
  /**
   * AWSManagedRulesCommonRuleSet (XSS, SQL injection, path traversal in web forms). Off by default:
   * nothing here interprets a string, and its cross-site-scripting rules match ordinary prompts
   * with angle brackets.
   */
  readonly common: boolean;
  /**
   * AWSManagedRulesKnownBadInputsRuleSet (Log4Shell, Java deserialization, `Host: localhost`). Off
   * by default: the gateway is a Node function that logs no header and ignores the host.
   */
  readonly knownBadInputs: boolean;
}

export interface ApiFirewallProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** Requests one IP may make per window before it is answered 429. */
  readonly rateLimit: number;
  /** `POST /v1/images` one IP may make per window: tighter, as each may start GPU work. */
  readonly createImageRateLimit: number;
  /** Window of the rate rules: 60, 120, 300 or 600 seconds. */
  readonly rateWindowSeconds: number;
  /** What the block list holds at deployment; `npm run block` changes it afterwards. */
  readonly blockCidrs: readonly string[];
  /** Never rate limited or checked by managed rules (the block list still applies). */
  readonly allowCidrs: readonly string[];
  /** Block every address that is not in allowCidrs. @default false */
  readonly allowListOnly?: boolean;
  readonly managedRules: ManagedRuleSwitches;
  /**
   * The origin WAF's own refusals (429, 413) allow, so the page can read them: a browser shows a
   * script an answer without CORS headers only as a network failure.
   */
  readonly corsOrigin: string;
  /** Names of the block list's IP sets. @default - names CloudFormation generates */
  readonly blockListNames?: Readonly<Record<IpVersion, string>>;
  /** Prefix of the CloudWatch metric names of the rules. @default 'api' */
  readonly metricPrefix?: string;
}

/** Names of the rules (also their CloudWatch `Rule` dimension values). */
export const FIREWALL_RULES = {
  blockList: 'BlockList',
  allowList: 'AllowList',
  rateLimit: 'RateLimitPerIp',
  createImageRateLimit: 'RateLimitCreateImagePerIp',
  bodySize: 'BodySizeLimit',
  anonymousIp: 'AWSManagedRulesAnonymousIpList',
  ipReputation: 'AWSManagedRulesAmazonIpReputationList',
  common: 'AWSManagedRulesCommonRuleSet',
  knownBadInputs: 'AWSManagedRulesKnownBadInputsRuleSet',
} as const;

/** The managed groups in evaluation order: the cheap address lists first. */
const MANAGED_GROUPS: ReadonlyArray<keyof ManagedRuleSwitches> = ['anonymousIp', 'ipReputation', 'common', 'knownBadInputs'];

/**
 * Rules and rule groups a web ACL with these settings holds, each billed $1 a month: the block
 * list (always there, so it can change without a deployment), the allow list when it has entries,
 * the two rate rules, the body size rule and the managed groups switched on.
 */
export function firewallRuleCount(props: Pick<ApiFirewallProps, 'allowCidrs' | 'managedRules'>): number {
  const managed = MANAGED_GROUPS.filter((group) => props.managedRules[group]).length;
  return 1 + (props.allowCidrs.length > 0 ? 1 : 0) + 2 + 1 + managed;
}

/**
 * A regular expression for decimal integers above `limit` (leading zeros allowed), because WAF
 * compares a header only as text and can read at most 64 KB of a body: `Content-Length` is the
 * only size it can check against a limit of megabytes.
 */
export function decimalAbovePattern(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`limit must be a whole number of 0 or more but is ${limit}`);
  const digits = String(limit);
  // Longer numbers, then same length with a larger digit after an equal prefix.
  const alternatives = [`[1-9][0-9]{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[i]);
    if (digit === 9) continue;
    const rest = digits.length - i - 1;
    alternatives.push(`${digits.slice(0, i)}[${digit + 1}-9]${rest > 0 ? `[0-9]{${rest}}` : ''}`);
  }
  return `^0*(${alternatives.join('|')})$`;
}

const BODIES = {
  rateLimited: 'rate-limited',
  createImageRateLimited: 'create-image-rate-limited',
  bodyTooLarge: 'body-too-large',
} as const;

const NO_TRANSFORMATION = [{ priority: 0, type: 'NONE' }];

/**
 * A regional WAF web ACL on the API stage: block list, allow list, per-IP rate limits (all
 * requests, and `POST /v1/images` with `POST /v1/warmups` apart), a body size limit and the managed groups switched on.
 * WAF's own refusals carry the API's JSON error body and CORS headers.
 */
export class ApiFirewall extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  /** The web ACL's name, the `WebACL` dimension of its CloudWatch metrics. */
  public readonly webAclName: string;
  /** Number of rules and rule groups, each billed monthly. */
  public readonly ruleCount: number;
  /** The block list, one IP set per IP version; they exist even when empty. */
  public readonly blockLists: Readonly<Record<IpVersion, wafv2.CfnIPSet>>;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    if (props.allowListOnly && props.allowCidrs.length === 0) {
      throw new Error('allowListOnly needs at least one CIDR in allowCidrs');
    }
    if (props.createImageRateLimit > props.rateLimit) {
      throw new Error(`createImageRateLimit (${props.createImageRateLimit}) must not exceed rateLimit (${props.rateLimit})`);
    }
    const metricPrefix = props.metricPrefix ?? 'api';
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      // A sample keeps each request's full URI for three hours, and `GET /v1/images/{id}` carries
      // the job id, the only credential for a job's images. The per-rule metrics still count, and
      // the block list's own log says who was blocked and why.
      sampledRequestsEnabled: false,
      metricName: `${metricPrefix}-${name}`,
    });
    const add = (rule: Omit<wafv2.CfnWebACL.RuleProperty, 'priority' | 'visibilityConfig'>) =>
      rules.push({ ...rule, priority: rules.length, visibilityConfig: visibility(rule.name) });

    const blockCidrs = cidrsByVersion(props.blockCidrs);
    this.blockLists = {
      IPV4: this.ipSet('BlockIPV4', 'IPV4', blockCidrs.IPV4, 'block list', props.blockListNames?.IPV4),
      IPV6: this.ipSet('BlockIPV6', 'IPV6', blockCidrs.IPV6, 'block list', props.blockListNames?.IPV6),
    };
    // A plain 403: nobody on the block list needs to be told why.
    add({ name: FIREWALL_RULES.blockList, action: { block: {} }, statement: anyOf(Object.values(this.blockLists)) });

    const allowCidrs = cidrsByVersion(props.allowCidrs);
    const allowSets = (Object.keys(allowCidrs) as IpVersion[])
      .filter((version) => allowCidrs[version].length > 0)
      .map((version) => this.ipSet(`Allow${version}`, version, allowCidrs[version], 'allow list'));
    if (allowSets.length > 0) {
      // Allow ends evaluation: listed addresses skip the rate limits and the managed rules.
      add({ name: FIREWALL_RULES.allowList, action: { allow: {} }, statement: anyOf(allowSets) });
    }

    const refusal = (status: number, body: string): wafv2.CfnWebACL.RuleActionProperty => ({
      block: {
        customResponse: {
          responseCode: status,
          customResponseBodyKey: body,
          responseHeaders: [
            { name: 'Access-Control-Allow-Origin', value: props.corsOrigin },
            { name: 'Access-Control-Expose-Headers', value: 'Retry-After' },
            { name: 'Vary', value: 'Origin' },
            ...(status === 429 ? [{ name: 'Retry-After', value: String(props.rateWindowSeconds) }] : []),
          ],
        },
      },
    });
    add({
      name: FIREWALL_RULES.rateLimit,
      action: refusal(429, BODIES.rateLimited),
      statement: { rateBasedStatement: { limit: props.rateLimit, evaluationWindowSec: props.rateWindowSeconds, aggregateKeyType: 'IP' } },
    });
    // The routes that can start billed compute share the tighter counter: a visit's warm-up is one
    // request of it, so an address cannot wake the backend more often than it may ask for images.
    const startsCompute = ROUTES.filter((route) => route.name === 'createImage' || route.name === 'warmUp');
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    add({
      name: FIREWALL_RULES.createImageRateLimit,
      action: refusal(429, BODIES.createImageRateLimited),
      statement: {
        rateBasedStatement: {
          limit: props.createImageRateLimit,
          evaluationWindowSec: props.rateWindowSeconds,
          aggregateKeyType: 'IP',
          scopeDownStatement: {
            andStatement: {
              statements: [
                exactly({ method: {} }, 'POST'),
                // Behind the stage name (/prod/v1/images) or a custom domain (/v1/images).
                {
                  regexMatchStatement: {
                    fieldToMatch: { uriPath: {} },
                    regexString: `(${startsCompute.map((route) => escape(route.path)).join('|')})/?$`,
                    textTransformations: NO_TRANSFORMATION,
                  },
                },
              ],
            },
          },
        },
      },
    });
    // No route takes a larger body; without this, bodies up to API Gateway's 10 MB reach the
    // function. A body sent without Content-Length (chunked) still meets the gateway's own 413.
    add({
      name: FIREWALL_RULES.bodySize,
      action: refusal(413, BODIES.bodyTooLarge),
      statement: {
        regexMatchStatement: {
          // Typed as any in CDK, so passed through as written: CloudFormation's own casing.
          fieldToMatch: { singleHeader: { Name: 'content-length' } },
          regexString: decimalAbovePattern(LIMITS.maxBodyBytes),
          textTransformations: NO_TRANSFORMATION,
        },
      },
    });

    const overrides: Partial<Record<keyof ManagedRuleSwitches, wafv2.CfnWebACL.RuleActionOverrideProperty[]>> = {
      // The body size rule above applies the API's own limit; this group's 8 KB one would refuse
      // image-to-image requests, so it only counts.
      common: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }],
    };
    for (const group of MANAGED_GROUPS) {
      if (!props.managedRules[group]) continue;
      const name = FIREWALL_RULES[group];
      const ruleActionOverrides = overrides[group];
      add({
        name,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ...(ruleActionOverrides ? { ruleActionOverrides } : {}) } },
      });
    }

    const errorBody = (error: ApiErrorBody['error']) => JSON.stringify(apiErrorBodySchema.parse({ error }));
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'serverless-diffusion public API',
      defaultAction: props.allowListOnly ? { block: {} } : { allow: {} },
      rules,
      customResponseBodies: {
        [BODIES.rateLimited]: {
          contentType: 'APPLICATION_JSON',
          content: errorBody({
            code: 'rate_limited',
            message: `Too many requests from your address: at most ${props.rateLimit} every ${props.rateWindowSeconds} seconds.`,
            retry_after_seconds: props.rateWindowSeconds,
          }),
        },
        [BODIES.createImageRateLimited]: {
          contentType: 'APPLICATION_JSON',
          content: errorBody({
            code: 'rate_limited',
            message: `Too many images requested from your address: at most ${props.createImageRateLimit} requests every ${props.rateWindowSeconds} seconds.`,
            retry_after_seconds: props.rateWindowSeconds,
          }),
        },
        [BODIES.bodyTooLarge]: {
          contentType: 'APPLICATION_JSON',
          content: errorBody({ code: 'body_too_large', message: `request body must be at most ${LIMITS.maxBodyBytes} bytes`, field: 'body' }),
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

  private ipSet(id: string, version: IpVersion, addresses: readonly string[], purpose: string, name?: string): wafv2.CfnIPSet {
    return new wafv2.CfnIPSet(this, id, {
      scope: 'REGIONAL',
      ipAddressVersion: version,
      addresses: [...addresses],
      description: `serverless-diffusion ${purpose} ${version}`,
      ...(name ? { name } : {}),
    });
  }
}

function anyOf(sets: readonly wafv2.CfnIPSet[]): wafv2.CfnWebACL.StatementProperty {
  const statements = sets.map((set) => ({ ipSetReferenceStatement: { arn: set.attrArn } }));
  return statements.length === 1 ? statements[0] : { orStatement: { statements } };
}

function exactly(fieldToMatch: wafv2.CfnWebACL.FieldToMatchProperty, value: string): wafv2.CfnWebACL.StatementProperty {
  return { byteMatchStatement: { fieldToMatch, positionalConstraint: 'EXACTLY', searchString: value, textTransformations: NO_TRANSFORMATION } };
}

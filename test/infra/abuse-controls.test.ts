import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LIMITS } from '../../contract/limits';
import { ApiFirewall, decimalAbovePattern, firewallRuleCount, type ApiFirewallProps } from '../../lib/constructs/api-firewall';
import { PublicApi, sourceIpPolicy } from '../../lib/constructs/public-api';

/** The firewall and the API's resource policy as constructs, each in a stack of its own (no app synth). */

const FIREWALL: ApiFirewallProps = {
  stageArn: 'arn:aws:apigateway:us-east-1::/restapis/abc123/stages/prod',
  rateLimit: 100,
  createImageRateLimit: 10,
  rateWindowSeconds: 300,
  blockCidrs: [],
  allowCidrs: [],
  managedRules: { anonymousIp: true, ipReputation: false, common: false, knownBadInputs: false },
  corsOrigin: 'https://site.example.com',
};

function firewallTemplate(props: Partial<ApiFirewallProps> = {}): { firewall: ApiFirewall; template: Template } {
  const stack = new Stack();
  const firewall = new ApiFirewall(stack, 'Firewall', { ...FIREWALL, ...props });
  return { firewall, template: Template.fromStack(stack) };
}

describe('decimalAbovePattern', () => {
  test.each([0, 9, 10, 99, 1000, 16_384, LIMITS.maxBodyBytes, 9_999_999])('matches exactly the numbers above %i', (limit) => {
    const pattern = new RegExp(decimalAbovePattern(limit));
    const probes = [0, 1, limit - 1, limit, limit + 1, limit * 10, Number('9'.repeat(String(limit).length)), 10 ** String(limit).length];
    for (let i = 0; i < 5000; i++) probes.push(Math.floor(Math.random() * (limit + 1) * 3));
    const wrong = probes.filter((value) => value >= 0 && pattern.test(String(value)) !== value > limit);
    expect(wrong).toEqual([]);
    // Content-Length may carry leading zeros; it is still the same number.
    expect(pattern.test(`000${limit + 1}`)).toBe(true);
    expect(pattern.test(`000${limit}`)).toBe(false);
    expect(pattern.test('12a')).toBe(false);
    expect(pattern.test('')).toBe(false);
  });

  test('fits in WAF regex statements (512 characters at most)', () => {
    expect(decimalAbovePattern(Number.MAX_SAFE_INTEGER).length).toBeLessThanOrEqual(512);
  });
});

describe('ApiFirewall', () => {
  test('counts the rules it bills: block list, two rate rules, body size, allow list when set, managed groups switched on', () => {
    const cases: Array<Partial<ApiFirewallProps>> = [
      {},
      { allowCidrs: ['198.51.100.0/24', '2001:db8::/32'] },
      { managedRules: { anonymousIp: true, ipReputation: true, common: true, knownBadInputs: true } },
      { managedRules: { anonymousIp: false, ipReputation: false, common: false, knownBadInputs: false } },
    ];
    for (const props of cases) {
      const { firewall, template } = firewallTemplate(props);
      const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
      expect(acl.Properties.Rules).toHaveLength(firewallRuleCount({ ...FIREWALL, ...props }));
      expect(firewall.ruleCount).toBe(acl.Properties.Rules.length);
    }
    expect(firewallRuleCount(FIREWALL)).toBe(5);
  });

  test('keeps no sampled requests (their URIs carry job ids), but a metric for every rule and the ACL', () => {
    const { template } = firewallTemplate({ managedRules: { anonymousIp: true, ipReputation: true, common: true, knownBadInputs: true } });
    const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const configs = [acl.Properties.VisibilityConfig, ...acl.Properties.Rules.map((rule: { VisibilityConfig: unknown }) => rule.VisibilityConfig)];
    expect(configs.length).toBeGreaterThan(5);
    for (const config of configs) expect(config).toMatchObject({ SampledRequestsEnabled: false, CloudWatchMetricsEnabled: true });
  });

  test('starts the block list with the configured CIDRs, by IP version, in sets that exist even when empty', () => {
    const { template } = firewallTemplate({ blockCidrs: ['192.0.2.0/24', '2001:db8:bad::/48', '203.0.113.7/32'] });
    const sets = Object.values(template.findResources('AWS::WAFv2::IPSet')).map((set) => [set.Properties.IPAddressVersion, set.Properties.Addresses]);
    expect(sets).toEqual([
      ['IPV4', ['192.0.2.0/24', '203.0.113.7/32']],
      ['IPV6', ['2001:db8:bad::/48']],
    ]);
  });

  test('refuses an image rate above the general one, and an allow-list-only firewall without a list', () => {
    expect(() => firewallTemplate({ createImageRateLimit: 200 })).toThrow('createImageRateLimit (200) must not exceed rateLimit (100)');
    expect(() => firewallTemplate({ allowListOnly: true })).toThrow('allowListOnly needs at least one CIDR in allowCidrs');
  });
});

describe("the API's resource policy", () => {
  const handler = (stack: Stack) => lambda.Function.fromFunctionArn(stack, 'Handler', 'arn:aws:lambda:us-east-1:123456789012:function:gateway');
  const deploymentId = (blockCidrs: readonly string[]) => {
    const stack = new Stack();
    new PublicApi(stack, 'Api', {
      handler: handler(stack),
      allowedOrigins: ['https://site.example.com'],
      throttlingRateLimit: 10,
      throttlingBurstLimit: 20,
      sourceIpLists: { blockCidrs, allowCidrs: [] },
    });
    return Object.keys(Template.fromStack(stack).findResources('AWS::ApiGateway::Deployment'));
  };

  test('changes the deployment when the block list changes, since a policy only applies once deployed', () => {
    const before = deploymentId(['192.0.2.0/24']);
    expect(deploymentId(['192.0.2.0/24'])).toEqual(before);
    expect(deploymentId(['192.0.2.0/24', '203.0.113.0/24'])).not.toEqual(before);
  });

  test('has no deny statement for an empty block list (IAM refuses an empty condition list)', () => {
    const policy = Stack.of(new Stack()).resolve(sourceIpPolicy({ blockCidrs: [], allowCidrs: [] }).toJSON());
    expect(policy.Statement).toEqual([
      { Sid: 'PublicInvoke', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'execute-api:Invoke', Resource: 'execute-api:/*' },
    ]);
    expect(() => sourceIpPolicy({ blockCidrs: [], allowCidrs: [], allowListOnly: true })).toThrow('allowListOnly needs at least one CIDR');
  });
});

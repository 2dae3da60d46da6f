import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { costSettings } from '../../lib/cost/cost-model';
import { acknowledgements, cfnLint, synthesize, type Synthesized } from './support/synth';

/**
 * The CPU serverless backend with the optional features on: custom domain in a Route 53 zone,
 * block and allow lists of both IP versions, managed rule groups off, extra CORS origins.
 */
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555';
let app: Synthesized;
let front: Template;
let gateway: Template;
let backend: Template;
let operations: Template;

beforeAll(() => {
  app = synthesize({
    appName: 'Pics',
    backend: { mode: 'serverless', serverlessMemoryMb: 4096, serverlessMaxConcurrency: 3 },
    domain: { name: 'pics.example.com', certificateArn: CERT, hostedZoneId: 'Z0123456789ABC', hostedZoneName: 'example.com' },
    api: { allowedOrigins: ['https://admin.example.com'] },
    waf: {
      rateLimit: 50,
      rateWindowSeconds: 60,
      blockCidrs: ['192.0.2.0/24', '2001:db8:bad::/48'],
      allowCidrs: ['198.51.100.7/32'],
      managedRules: { anonymousIp: false, common: false, knownBadInputs: false, ipReputation: false },
    },
  });
  ({ front, gateway, backend, operations } = app.templates as Required<typeof app.templates>);
});
afterAll(() => app?.cleanup());

test('cdk-nag passes and cfn-lint reports no errors', () => {
  const errors = cfnLint(app.outdir, Object.keys(app.raw)).filter((finding) => finding.Level === 'Error');
  expect(errors.map((e) => `${path.basename(e.Filename)} ${e.Rule.Id} ${e.Message}`)).toEqual([]);
});

test('the endpoint is serverless on the CPU, with no async queue and no scaling policies', () => {
  backend.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [
      Match.objectLike({ VariantName: 'AllTraffic', ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 3 }, InstanceType: Match.absent() }),
    ],
    AsyncInferenceConfig: Match.absent(),
  });
  backend.hasResourceProperties('AWS::SageMaker::Model', {
    EnableNetworkIsolation: false,
    PrimaryContainer: Match.objectLike({ Environment: Match.objectLike({ EXECUTION_PROVIDER: 'cpu', REQUEST_TIMEOUT_MS: '55000' }) }),
  });
  backend.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'pics' });
  backend.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  backend.resourceCountIs('AWS::SNS::Topic', 0);
  operations.resourceCountIs('AWS::Events::Rule', 0);
});

test('the acknowledgements say that this container runs without a VPC and without network isolation', () => {
  const reasons = (id: string) => acknowledgements(app.app).filter((entry) => entry.id.endsWith(id)).map((entry) => entry.reason);
  expect(reasons('AwsSolutions-SM1')).toEqual([expect.stringMatching(/neither a VPC nor network isolation, so this container can reach the internet/)]);
  expect(reasons('AwsSolutions-SM1').join(' ')).not.toMatch(/network isolation instead/);
  expect(reasons('AwsSolutions-SM2')).toEqual([expect.stringMatching(/serverless variant/)]);
  expect(reasons('AwsSolutions-SNS2').filter((reason) => /inference id/.test(reason))).toEqual([]);
});

test('the gateway invokes the endpoint in real time', () => {
  const fn = Object.values(gateway.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.BACKEND_MODE);
  expect(fn?.Properties.Environment.Variables).toMatchObject({ BACKEND_MODE: 'serverless', ENDPOINT_NAME: 'pics' });
  expect(fn?.Properties.Environment.Variables.ALLOWED_ORIGINS).toBe('https://pics.example.com,https://admin.example.com');
  // No GPU sleeps here, and WAF limits the rate: neither guard has anything to do.
  expect(Object.keys(fn?.Properties.Environment.Variables).filter((name) => /^(GPU_|RATE_LIMIT_)/.test(name))).toEqual([]);
  gateway.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({ Action: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint'] })]),
    },
  });
  const actions = JSON.stringify(gateway.findResources('AWS::IAM::Policy'));
  expect(actions).not.toContain('InvokeEndpointAsync');
  expect(actions).not.toContain('cloudwatch:GetMetricData');
  // The endpoint answers in the response: the gateway touches only its own images, and no one's prompts.
  const s3 = Object.values(gateway.findResources('AWS::IAM::Policy'))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .filter((statement: any) => [statement.Action].flat().some((action: string) => action.startsWith('s3:')));
  expect(s3).toEqual([
    expect.objectContaining({
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: { 'Fn::Join': ['', [expect.anything(), '/images/*']] },
    }),
  ]);
});

test('WAF blocks the block list first, lets the allow list through, then rate limits; no managed groups', () => {
  const [acl] = Object.values(gateway.findResources('AWS::WAFv2::WebACL')).map((r) => r.Properties);
  expect(acl.Rules.map((rule: { Name: string; Priority: number }) => [rule.Priority, rule.Name])).toEqual([
    [0, 'BlockList'],
    [1, 'AllowList'],
    [2, 'RateLimitPerIp'],
    [3, 'RateLimitCreateImagePerIp'],
    [4, 'BodySizeLimit'],
  ]);
  expect(acl.Rules[0].Action).toEqual({ Block: {} });
  expect(acl.Rules[0].Statement.OrStatement.Statements).toHaveLength(2);
  expect(acl.Rules[1].Action).toEqual({ Allow: {} });
  expect(acl.Rules[2].Statement.RateBasedStatement).toEqual({ Limit: 50, EvaluationWindowSec: 60, AggregateKeyType: 'IP' });
  // WAF's 429 lets the site's own origin read it, and says when to come back.
  expect(acl.Rules[2].Action.Block.CustomResponse.ResponseHeaders).toEqual(
    expect.arrayContaining([
      { Name: 'Access-Control-Allow-Origin', Value: 'https://pics.example.com' },
      { Name: 'Retry-After', Value: '60' },
    ]),
  );
  gateway.hasResourceProperties('AWS::WAFv2::IPSet', { IPAddressVersion: 'IPV4', Addresses: ['192.0.2.0/24'], Scope: 'REGIONAL' });
  gateway.hasResourceProperties('AWS::WAFv2::IPSet', { IPAddressVersion: 'IPV6', Addresses: ['2001:db8:bad::/48'] });
  gateway.hasResourceProperties('AWS::WAFv2::IPSet', { IPAddressVersion: 'IPV4', Addresses: ['198.51.100.7/32'] });
  expect(costSettings(app.config).wafRuleCount).toBe(5);
});

test('the custom domain gets the certificate, TLS 1.2 and alias records', () => {
  front.hasResourceProperties('AWS::CloudFront::Distribution', {
    DistributionConfig: Match.objectLike({
      Aliases: ['pics.example.com'],
      ViewerCertificate: { AcmCertificateArn: CERT, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
    }),
  });
  front.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'pics.example.com.', Type: 'A', HostedZoneId: 'Z0123456789ABC' });
  front.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'pics.example.com.', Type: 'AAAA' });
  front.hasOutput('SiteUrl', { Value: 'https://pics.example.com/' });
});

test('with a custom domain the gateway comes first, and the CSP names the exact API and jobs-bucket hosts', () => {
  const [policy] = Object.values(front.findResources('AWS::CloudFront::ResponseHeadersPolicy'));
  const csp = JSON.stringify(policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
  // The API's id comes from the gateway stack; nothing is a wildcard host.
  expect(csp).toMatch(/connect-src 'self' https:\/\/",\{"Fn::ImportValue":"Pics-Gateway:ExportsOutputRefApi\w+"\},".execute-api.us-east-1.",\{"Ref":"AWS::URLSuffix"\}," https:\/\/pics-jobs-",\{"Ref":"AWS::AccountId"\},"-us-east-1.s3.us-east-1.amazonaws.com https:\/\/pics-jobs-/);
  expect(csp).not.toContain('*');
  const stacks = app.app.node.children.map((child) => child.node.id);
  expect(stacks.indexOf('Pics-Gateway')).toBeLessThan(stacks.indexOf('Pics-Front'));
});

test('buckets and the budget are named after the app', () => {
  gateway.hasResourceProperties('AWS::S3::Bucket', {
    BucketName: { 'Fn::Join': ['', ['pics-jobs-', { Ref: 'AWS::AccountId' }, '-us-east-1']] },
  });
  operations.hasResourceProperties('AWS::Budgets::Budget', {
    Budget: Match.objectLike({ BudgetName: 'Pics-monthly' }),
    // No e-mails here: the budget action is told all the same, and nobody else.
    NotificationsWithSubscribers: [
      {
        Notification: { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' },
        Subscribers: [{ SubscriptionType: 'SNS', Address: { Ref: Match.stringLikeRegexp('^BudgetActionTopic') } }],
      },
    ],
  });
});

test('the dashboard prices serverless memory-seconds instead of GPU instances', () => {
  const body = JSON.stringify(Object.values(operations.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
  expect(body).toContain('ModelLatency');
  expect(body).not.toContain('EndpointInstances');
});

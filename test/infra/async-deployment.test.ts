import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { METRIC_NAMES, METRICS_NAMESPACE } from '../../lambda/facts/metrics';
import { TABLE_KEYS } from '../../lambda/facts/table-keys';
import { GATEWAY_ERROR_CODES as ERROR_CODES } from '../../contract/errors';
import { num } from '../../lib/constructs/cost-dashboard';
import { GPU_HOST } from '../../lib/config/gpu-host';
import { costSettings } from '../../lib/cost/cost-model';
import { SAGEMAKER_HOSTING_HOURLY_USD } from '../../lib/cost/prices';
import { acknowledgements, cfnLint, synthesize, type Synthesized } from './support/synth';

/**
 * The default deployment (cdk.json as shipped: async GPU backend on ml.g4dn.xlarge), plus alert
 * e-mails, synthesized once with cdk-nag on the whole app.
 */
let app: Synthesized;
let front: Template;
let gateway: Template;
let backend: Template;
let site: Template;
let operations: Template;

const ENDPOINT = 'serverless-diffusion';
const ENDPOINT_DIMENSIONS = Match.exact([{ Name: 'EndpointName', Value: ENDPOINT }]);

beforeAll(() => {
  app = synthesize({ alerts: { emails: ['ops@example.com'] } });
  ({ front, gateway, backend, site, operations } = app.templates as Required<typeof app.templates>);
});
afterAll(() => app?.cleanup());

/** A string that may hold references, as text: `Fn::Join` flattened, `{Ref}`, `{Import:Export}`. */
function flatten(value: any): string {
  if (typeof value === 'string') return value;
  if (value.Ref) return `{${value.Ref}}`;
  if (value['Fn::ImportValue']) return `{Import:${value['Fn::ImportValue']}}`;
  if (value['Fn::Join']) return value['Fn::Join'][1].map(flatten).join(value['Fn::Join'][0]);
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

function resourcesOf(template: Template, type: string): Array<Record<string, any>> {
  return Object.values(template.findResources(type)).map((resource) => resource.Properties ?? {});
}

describe('checks on every template', () => {
  test('cdk-nag AwsSolutions has no unacknowledged finding, and every acknowledgement gives a reason', () => {
    // synthesize() throws on any unacknowledged finding; the report must also be free of them.
    const report = JSON.parse(readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
    const violations = report.pluginReports.flatMap((plugin: { violations?: unknown[] }) => plugin.violations ?? []);
    expect(violations).toEqual([]);
    const acknowledged = acknowledgements(app.app);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.filter(({ reason }) => reason.length < 40)).toEqual([]);
  });

  test('the acknowledgements say what holds in this mode: network isolation, NVMe storage, the shared bootstrap resources', () => {
    const reasons = (id: string) => acknowledgements(app.app).filter((entry) => entry.id.endsWith(id)).map((entry) => entry.reason);
    expect(reasons('AwsSolutions-SM1')).toEqual([expect.stringMatching(/runs with network isolation instead/)]);
    expect(reasons('AwsSolutions-SM2')).toEqual([expect.stringMatching(/local NVMe instance storage.*ml\.g4dn\.\*, ml\.g5\.\*, ml\.g6\.\*, ml\.g6e\.\*/)]);
    expect(reasons('AwsSolutions-SNS2').filter((reason) => /inference id/.test(reason))).toEqual([expect.stringMatching(/which is the job’s reference/)]);
    expect(reasons('AwsSolutions-SNS2').join(' ')).not.toMatch(/only the inference id/);
    const bootstrap = acknowledgements(app.app).filter((entry) => /cdk bootstrap --qualifier/.test(entry.reason));
    // The engine role's ECR pull, and the staging bucket of the site's and the model's copy functions.
    expect(bootstrap.filter((entry) => entry.id.endsWith('AwsSolutions-IAM5[Resource::*]') && /ecr:GetAuthorizationToken/.test(entry.reason))).toHaveLength(1);
    expect(bootstrap.filter((entry) => /Custom::CDKBucketDeployment/.test(entry.path))).toHaveLength(2);
  });

  test('cfn-lint reports no errors on any synthesized template', () => {
    const findings = cfnLint(app.outdir, Object.keys(app.raw));
    const errors = findings.filter((finding) => finding.Level === 'Error');
    expect(errors.map((e) => `${path.basename(e.Filename)}:${e.Location.Start.LineNumber} ${e.Rule.Id} ${e.Message}`)).toEqual([]);
  });

  test('no IAM statement uses Resource "*" except for actions without resource-level permissions', () => {
    const noResourceLevel = new Set([
      'cloudwatch:GetMetricData',
      'ecr:GetAuthorizationToken',
      'cloudfront:CreateInvalidation',
      'cloudfront:GetInvalidation',
    ]);
    for (const [stackName, template] of Object.entries(app.raw)) {
      for (const [id, resource] of Object.entries(template.Resources)) {
        if (resource.Type !== 'AWS::IAM::Policy') continue;
        const statements = (resource.Properties?.PolicyDocument as { Statement: any[] }).Statement;
        for (const statement of statements) {
          const resources = [statement.Resource].flat();
          if (!resources.includes('*')) continue;
          const actions = [statement.Action].flat();
          expect({ stackName, id, actions: actions.filter((a: string) => !noResourceLevel.has(a)) }).toEqual({ stackName, id, actions: [] });
        }
      }
    }
  });
});

describe('retention: nothing is kept longer than the API promises or the operator needs', () => {
  test('every log group has a retention of at most a month, and every function logs to one of them', () => {
    for (const [stackName, template] of Object.entries(app.raw)) {
      const groups = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Logs::LogGroup');
      for (const [id, group] of groups) expect({ stackName, id, days: group.Properties?.RetentionInDays }).toEqual({ stackName, id, days: expect.any(Number) });
      expect(groups.filter(([, group]) => (group.Properties!.RetentionInDays as number) > 30).map(([id]) => id)).toEqual([]);
      const groupIds = new Set(groups.map(([id]) => id));
      for (const [id, fn] of Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')) {
        const target = (fn.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref;
        expect({ stackName, id, logsTo: target && groupIds.has(target) }).toEqual({ stackName, id, logsTo: true });
      }
    }
  });

  test('API Gateway execution logs go to a group created before the stage, with a retention', () => {
    const [[groupId, group]] = Object.entries(gateway.findResources('AWS::Logs::LogGroup')).filter(([, g]) =>
      JSON.stringify(g.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
    );
    expect(group.Properties).toMatchObject({
      LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: expect.stringMatching(/^Api/) }, '/prod']] },
      RetentionInDays: 30,
    });
    const [stage] = Object.values(gateway.findResources('AWS::ApiGateway::Stage'));
    expect(stage.DependsOn).toContain(groupId);
  });

  test('raw addresses stay three days in the access log; the table has no point-in-time recovery', () => {
    const [stage] = resourcesOf(gateway, 'AWS::ApiGateway::Stage');
    const [accessLogsId] = JSON.stringify(stage.AccessLogSetting.DestinationArn).match(/ApiAccessLogs\w+/)!;
    expect(gateway.findResources('AWS::Logs::LogGroup')[accessLogsId].Properties.RetentionInDays).toBe(3);
    gateway.hasResourceProperties('AWS::DynamoDB::Table', { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } });
  });

  test('the access log records the route template, never the path with its job id', () => {
    const [stage] = resourcesOf(gateway, 'AWS::ApiGateway::Stage');
    const format = String(stage.AccessLogSetting.Format);
    expect(format).toContain('$context.resourcePath');
    expect(format).not.toMatch(/\$context\.path\b/);
  });
});

describe('front', () => {
  test('site bucket is private, TLS-only and encrypted', () => {
    front.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^serverless-diffusion-site-')])] }),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'site-bucket/' }),
    });
    front.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // Only CloudFront (origin access control) may read the objects.
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' }),
        ]),
      },
    });
    for (const bucket of resourcesOf(front, 'AWS::S3::Bucket')) {
      expect(bucket.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  test('CloudFront reads the bucket through origin access control, HTTPS only, with logging', () => {
    front.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    front.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
      }),
    });
  });

  test('responses carry a strict CSP and the other security headers', () => {
    const [policy] = resourcesOf(front, 'AWS::CloudFront::ResponseHeadersPolicy');
    const headers = policy.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = flatten(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    // The jobs bucket's exact host (both forms of us-east-1), never any bucket; without a custom
    // domain the API is created after the distribution, so its host is the region's wildcard.
    const jobsHosts = ['https://serverless-diffusion-jobs-{AWS::AccountId}-us-east-1.s3.us-east-1.amazonaws.com', 'https://serverless-diffusion-jobs-{AWS::AccountId}-us-east-1.s3.amazonaws.com'];
    expect(directives['connect-src']).toEqual(["'self'", 'https://*.execute-api.us-east-1.amazonaws.com', ...jobsHosts]);
    expect(directives['img-src']).toEqual(["'self'", 'data:', 'blob:', 'https://*.execute-api.us-east-1.amazonaws.com', ...jobsHosts]);
    expect(csp).not.toMatch(/\*\.s3/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers.ContentSecurityPolicy.Override).toBe(true);
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: expect.any(Number), Override: true });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
  });

  test('outputs the site URL', () => {
    front.hasOutput('SiteUrl', Match.anyValue());
  });
});

describe('site files', () => {
  test('deploys the built site and a config.json with the API URL, then invalidates the CDN', () => {
    const [deployment] = resourcesOf(site, 'Custom::CDKBucketDeployment');
    expect(deployment.SourceObjectKeys).toHaveLength(2);
    expect(deployment.DistributionPaths).toEqual(['/*']);
    expect(deployment.Prune).toBe(true);
    const imports = JSON.stringify(deployment.SourceMarkers);
    expect(imports).toMatch(/ServerlessDiffusion-Gateway:ExportsOutputRefApi/);

    const staged = (key: string) => path.join(app.outdir, `asset.${key.replace(/\.zip$/, '')}`);
    const [build, runtime] = deployment.SourceObjectKeys.map(staged);
    expect(existsSync(path.join(build, 'index.html'))).toBe(true);
    expect(readdirSync(build)).not.toContain('config.json');
    const config = readFileSync(path.join(runtime, 'config.json'), 'utf8');
    expect(config).toMatch(/^\{"apiBaseUrl":"https:\/\/<<marker:0xbaba:0>>\.execute-api\.us-east-1\./);
  });
});

describe('gateway', () => {
  test('the Lambda runs the gateway handler on nodejs24.x with the contract environment', () => {
    const functions = resourcesOf(gateway, 'AWS::Lambda::Function').filter((f) => f.Environment?.Variables?.BACKEND_MODE);
    expect(functions).toHaveLength(1);
    const [fn] = functions;
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Handler).toBe('index.handler');
    const env = fn.Environment.Variables;
    expect(Object.keys(env).sort()).toEqual(
      [
        'ALLOWED_ORIGINS',
        'BACKEND_MODE',
        'COLD_START_SECONDS',
        'ENDPOINT_NAME',
        'EXTERNAL_URL',
        'GPU_IDLE_SECONDS',
        'GPU_MINUTES_PER_DAY',
        'JOBS_BUCKET',
        'JOBS_PREFIX_INPUT',
        'JOBS_PREFIX_OUTPUT',
        'JOBS_PREFIX_IMAGE',
        'LOG_LEVEL',
        'MODEL_INFO',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'QUOTA_GLOBAL_PER_DAY',
        'QUOTA_PER_IP_PER_DAY',
        'QUOTAS_AND_JOBS_TABLE',
        'SECONDS_PER_IMAGE',
        'SECRET_ARN',
      ].sort(),
    );
    expect(env).toMatchObject({
      BACKEND_MODE: 'async',
      ENDPOINT_NAME: ENDPOINT,
      EXTERNAL_URL: '',
      JOBS_PREFIX_INPUT: 'inputs/',
      JOBS_PREFIX_OUTPUT: 'outputs/',
      JOBS_PREFIX_IMAGE: 'images/',
      QUOTA_PER_IP_PER_DAY: '20',
      QUOTA_GLOBAL_PER_DAY: '500',
      // The wake-up guard: 120 GPU-minutes a day; after the queue empties, 5 idle minutes and 2 of lag.
      GPU_MINUTES_PER_DAY: '120',
      GPU_IDLE_SECONDS: '420',
      POWERTOOLS_SERVICE_NAME: 'gateway',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: 'INFO',
    });
    // The model's defaults, read at synth from its folder as the engine reads them (tiny-sd: PNDM, 8 latent cells a side).
    expect(JSON.parse(env.MODEL_INFO)).toEqual({
      width: 64,
      height: 64,
      scheduler: 'pndm',
      steps: 25,
      guidance_scale: 7.5,
      accepts_init_image: true,
      accepts_negative_prompt: true,
      content_filter: 'none',
      // backend.decoder auto: no taesd/ in the folder, and a GPU
      decoder: 'full',
    });
    // The site's CloudFront origin is always allowed.
    expect(JSON.stringify(env.ALLOWED_ORIGINS)).toMatch(/https:\/\/.*ServerlessDiffusion-Front:ExportsOutputFnGetAttSiteDistribution/);
  });

  test('the gateway role reaches this endpoint, these job prefixes, this table and this secret only', () => {
    const policies = Object.entries(gateway.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('GatewayHandlerRole'));
    expect(policies).toHaveLength(1);
    const statements: any[] = policies[0][1].Properties.PolicyDocument.Statement;
    const byAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    const endpointArn = { 'Fn::Join': ['', ['arn:aws:sagemaker:us-east-1:', { Ref: 'AWS::AccountId' }, `:endpoint/${ENDPOINT}`]] };
    expect(byAction('sagemaker:InvokeEndpointAsync')).toEqual([expect.objectContaining({ Resource: endpointArn })]);
    expect(byAction('sagemaker:DescribeEndpoint')).toEqual([expect.objectContaining({ Resource: endpointArn })]);
    expect(byAction('sagemaker:InvokeEndpoint')).toEqual([]);

    // Each job prefix with only what the gateway does there: it writes requests it never reads back,
    // reads SageMaker's results and failures it never writes, and writes and presigns its own images.
    const prefixesOf = (statement: any) => [statement.Resource].flat().map((arn: unknown) => JSON.stringify(arn).match(/\/(\w+)\/\*"\]\]\}$/)![1]).sort();
    const s3Statements = statements.filter((s) => [s.Action].flat().some((action: string) => action.startsWith('s3:')));
    expect(s3Statements.map((s) => `${[s.Action].flat().join('+')} ${s.Condition ? 'bucket' : prefixesOf(s).join(',')}`).sort()).toEqual([
      's3:GetObject failures,outputs',
      's3:GetObject+s3:PutObject images',
      's3:ListBucket bucket',
      's3:PutObject inputs',
    ]);
    const [list] = byAction('s3:ListBucket');
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['outputs/*', 'failures/*'] } });

    const [table] = byAction('dynamodb:UpdateItem');
    expect([table.Action].flat().sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(table.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^QuotasAndJobsTable/), 'Arn'] });
    const [secret] = byAction('secretsmanager:GetSecretValue');
    expect(secret.Resource).toEqual({ Ref: expect.stringMatching(/^Secret/) });
  });

  test('the quota table matches the gateway table schema', () => {
    gateway.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  test('the secret is generated with an id signing key', () => {
    gateway.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'idSigningKey', SecretStringTemplate: '{}' }),
    });
  });

  test('the jobs bucket is private and its job prefixes expire', () => {
    gateway.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^serverless-diffusion-jobs-')])] }),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith(
          ['inputs/', 'outputs/', 'failures/', 'images/'].map((prefix) => Match.objectLike({ Prefix: prefix, ExpirationInDays: 2, Status: 'Enabled' })),
        ),
      },
      CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedMethods: ['GET', 'HEAD'] })] },
    });
  });

  test('the REST API has throttling, access logs and the public routes only', () => {
    gateway.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20, LoggingLevel: 'ERROR', DataTraceEnabled: false }),
        // Image requests, which may wake the GPU, are held below the reads.
        { HttpMethod: 'POST', ResourcePath: '/~1v1~1images', ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 },
      ],
    });
    // WAF is on: the API needs no resource policy of its own.
    gateway.hasResourceProperties('AWS::ApiGateway::RestApi', { Policy: Match.absent() });
    const paths = resourcesOf(gateway, 'AWS::ApiGateway::Resource').map((r) => r.PathPart).sort();
    expect(paths).toEqual(['images', 'openapi.json', 'status', 'v1', 'warmups', '{id}'].sort());
    const methods = resourcesOf(gateway, 'AWS::ApiGateway::Method').map((m) => m.HttpMethod).filter((m) => m !== 'OPTIONS');
    expect(methods.sort()).toEqual(['DELETE', 'GET', 'GET', 'GET', 'POST', 'POST']);
    // API Gateway's own refusals speak the gateway's error vocabulary (codes in lambda/src/http/errors.ts).
    const gatewayResponses = resourcesOf(gateway, 'AWS::ApiGateway::GatewayResponse').map((r) => [
      r.ResponseType,
      r.StatusCode,
      JSON.parse(r.ResponseTemplates['application/json'].replace('$context.error.messageString', '""')).error.code,
    ]);
    expect(gatewayResponses).toEqual(
      expect.arrayContaining([
        ['THROTTLED', '429', 'rate_limited'],
        ['MISSING_AUTHENTICATION_TOKEN', '404', 'not_found'],
        ['REQUEST_TOO_LARGE', '413', 'body_too_large'],
        ['DEFAULT_4XX', undefined, 'invalid_request'],
        ['DEFAULT_5XX', undefined, 'internal_error'],
      ]),
    );
    for (const [, , code] of gatewayResponses) expect(ERROR_CODES).toContain(code);
    gateway.hasOutput('ApiUrl', Match.anyValue());
  });

  test('a WAF web ACL with the block list, the per-IP rate rules, a body size rule and the anonymous-IP group is associated with the stage', () => {
    gateway.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Name: 'BlockList', Action: { Block: {} } }),
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Statement: { RateBasedStatement: { Limit: 100, EvaluationWindowSec: 300, AggregateKeyType: 'IP' } },
          Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 429, CustomResponseBodyKey: 'rate-limited' }) } },
        }),
        Match.objectLike({
          Name: 'RateLimitCreateImagePerIp',
          Statement: {
            RateBasedStatement: Match.objectLike({
              Limit: 10,
              ScopeDownStatement: {
                AndStatement: {
                  Statements: [
                    Match.objectLike({ ByteMatchStatement: Match.objectLike({ FieldToMatch: { Method: {} }, SearchString: 'POST' }) }),
                    Match.objectLike({ RegexMatchStatement: Match.objectLike({ FieldToMatch: { UriPath: {} }, RegexString: '(/v1/images|/v1/warmups)/?$' }) }),
                  ],
                },
              },
            }),
          },
        }),
        Match.objectLike({
          Name: 'BodySizeLimit',
          Statement: { RegexMatchStatement: Match.objectLike({ FieldToMatch: { SingleHeader: { Name: 'content-length' } } }) },
          Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 413, CustomResponseBodyKey: 'body-too-large' }) } },
        }),
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAnonymousIpList' } } }),
      ],
    });
    // The block list's IP sets exist empty, one per IP version, named for the console and read by npm run block.
    const sets = resourcesOf(gateway, 'AWS::WAFv2::IPSet');
    expect(sets.map((set) => [set.Name, set.IPAddressVersion, set.Addresses])).toEqual([
      ['serverless-diffusion-block-ipv4', 'IPV4', []],
      ['serverless-diffusion-block-ipv6', 'IPV6', []],
    ]);
    for (const output of ['BlockListIpv4Arn', 'BlockListIpv6Arn', 'RestApiId', 'StageName']) gateway.hasOutput(output, Match.anyValue());
    const [association] = resourcesOf(gateway, 'AWS::WAFv2::WebACLAssociation');
    const [aclId] = Object.keys(gateway.findResources('AWS::WAFv2::WebACL'));
    const [stageId] = Object.keys(gateway.findResources('AWS::ApiGateway::Stage'));
    const [apiId] = Object.keys(gateway.findResources('AWS::ApiGateway::RestApi'));
    expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    expect(association.ResourceArn).toEqual({
      'Fn::Join': ['', ['arn:aws:apigateway:us-east-1::/restapis/', { Ref: apiId }, '/stages/', { Ref: stageId }]],
    });
  });
});

describe("WAF's own refusals", () => {
  test('carry the API error body, the site origin for CORS, and Retry-After on 429', () => {
    const [webAcl] = resourcesOf(gateway, 'AWS::WAFv2::WebACL');
    for (const name of ['RateLimitPerIp', 'RateLimitCreateImagePerIp', 'BodySizeLimit']) {
      const rule = webAcl.Rules.find((candidate: { Name: string }) => candidate.Name === name);
      const response = rule.Action.Block.CustomResponse;
      const headers = Object.fromEntries(response.ResponseHeaders.map((header: { Name: string; Value: unknown }) => [header.Name, header.Value]));
      // The site's CloudFront origin: the page is the browser client that must be able to read these.
      expect(JSON.stringify(headers['Access-Control-Allow-Origin'])).toMatch(/https:\/\/.*ServerlessDiffusion-Front:ExportsOutputFnGetAttSiteDistribution/);
      expect(headers).toMatchObject({ 'Access-Control-Expose-Headers': 'Retry-After', Vary: 'Origin' });
      expect(headers['Retry-After']).toBe(response.ResponseCode === 429 ? '300' : undefined);
      const body = webAcl.CustomResponseBodies[response.CustomResponseBodyKey];
      expect(body.ContentType).toBe('APPLICATION_JSON');
      expect(JSON.parse(body.Content).error.code).toBe(response.ResponseCode === 429 ? 'rate_limited' : 'body_too_large');
    }
  });
});

describe('backend', () => {
  test('the model reads uncompressed model data from an S3 prefix, with the GPU provider', () => {
    const [model] = resourcesOf(backend, 'AWS::SageMaker::Model');
    expect(model.EnableNetworkIsolation).toBe(true);
    const container = model.PrimaryContainer;
    expect(container.ModelDataSource.S3DataSource).toMatchObject({ S3DataType: 'S3Prefix', CompressionType: 'None' });
    expect(JSON.stringify(container.ModelDataSource.S3DataSource.S3Uri)).toMatch(/\/models\/[0-9a-f]{64}\/"/);
    expect(container.Environment).toMatchObject({ MODEL_DIR: '/opt/ml/model', EXECUTION_PROVIDER: 'cuda' });
    expect(JSON.stringify(container.Image)).toMatch(/container-assets/);
  });

  test('the engine image builds from the repository root with only the engine and the contract in its context', () => {
    const assets = JSON.parse(readFileSync(path.join(app.outdir, 'ServerlessDiffusion-Backend.assets.json'), 'utf8'));
    const [image] = Object.values(assets.dockerImages) as Array<{ source: { directory: string; dockerFile: string } }>;
    expect(image.source.dockerFile).toBe('container/Dockerfile');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? files(path.join(dir, entry.name)).map((file) => `${entry.name}/${file}`) : [entry.name],
      );
    const staged = files(path.join(app.outdir, image.source.directory));
    expect(staged).toEqual(expect.arrayContaining(['container/Dockerfile', 'container/src/server/main.ts', 'contract/generation-request.ts']));
    expect(staged.filter((file) => !/^(container\/(Dockerfile|package(-lock)?\.json|docker-entrypoint\.sh|src\/.+)|contract\/.+|\.dockerignore)$/.test(file))).toEqual([]);
  });

  test('the endpoint config is async with S3 output and failure paths, SNS topics and one request per instance', () => {
    const [config] = resourcesOf(backend, 'AWS::SageMaker::EndpointConfig');
    expect(config.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: 'AllTraffic',
        InstanceType: 'ml.g4dn.xlarge',
        // The host image the engine's CUDA image is paired with (test/container/image.test.ts).
        InferenceAmiVersion: GPU_HOST.inferenceAmiVersion,
        InitialInstanceCount: 1,
        ContainerStartupHealthCheckTimeoutInSeconds: 600,
        ModelDataDownloadTimeoutInSeconds: 900,
      }),
    ]);
    const async = config.AsyncInferenceConfig;
    expect(async.ClientConfig).toEqual({ MaxConcurrentInvocationsPerInstance: 1 });
    const jobs = (prefix: string) => ({ 'Fn::Join': ['', ['s3://serverless-diffusion-jobs-', { Ref: 'AWS::AccountId' }, `-us-east-1/${prefix}`]] });
    expect(async.OutputConfig.S3OutputPath).toEqual(jobs('outputs/'));
    expect(async.OutputConfig.S3FailurePath).toEqual(jobs('failures/'));
    // Only the failure topic, which the failure alarm counts: nothing would consume a success topic.
    const topics = Object.keys(backend.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    expect(async.OutputConfig.NotificationConfig).toEqual({
      ErrorTopic: { Ref: expect.stringMatching(/^EngineFailed/) },
    });
    backend.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: ENDPOINT });
  });

  test('the execution role reads job inputs and writes job results only', () => {
    const statements: any[] = Object.entries(backend.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('EngineRole'))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    const on = (action: string) => JSON.stringify(statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource));
    expect(on('s3:GetObject')).toMatch(/serverless-diffusion-jobs-.*\/inputs\/\*/);
    expect(on('s3:GetObject')).not.toMatch(/outputs/);
    expect(on('s3:PutObject')).toMatch(/\/outputs\/\*/);
    expect(on('s3:PutObject')).toMatch(/\/failures\/\*/);
    expect(on('s3:PutObject')).not.toMatch(/inputs/);
  });

  test('scales between zero and the maximum, on the service-linked role', () => {
    backend.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: 1,
      ResourceId: `endpoint/${ENDPOINT}/variant/AllTraffic`,
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      ServiceNamespace: 'sagemaker',
      RoleARN: Match.absent(),
    });
  });

  test('target tracking follows ApproximateBacklogSizePerInstance with the EndpointName dimension only', () => {
    backend.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        CustomizedMetricSpecification: {
          Namespace: 'AWS/SageMaker',
          MetricName: 'ApproximateBacklogSizePerInstance',
          Dimensions: ENDPOINT_DIMENSIONS,
          Statistic: 'Average',
        },
      }),
    });
  });

  test('a waiting request wakes the endpoint: HasBacklogWithoutCapacity adds an instance', () => {
    const alarms = backend.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'HasBacklogWithoutCapacity', Namespace: 'AWS/SageMaker' },
    });
    const wake = Object.values(alarms).filter((a) => a.Properties.Period === 60);
    expect(wake).toHaveLength(1);
    expect(wake[0].Properties).toMatchObject({
      Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
    expect(wake[0].Properties.Dimensions).toHaveLength(1);
    const [policyRef] = wake[0].Properties.AlarmActions;
    const policy = backend.toJSON().Resources[policyRef.Ref].Properties;
    expect(policy.StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
    });
  });

  test('idle for the configured minutes (no data counts as idle) sets the count to zero', () => {
    const alarms = Object.values(
      backend.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ApproximateBacklogSize' } }),
    );
    expect(alarms).toHaveLength(1);
    const idle = alarms[0].Properties;
    expect(idle).toMatchObject({
      Namespace: 'AWS/SageMaker',
      Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }],
      Threshold: 0,
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'breaching',
    });
    expect(idle.Dimensions).toHaveLength(1);
    const policy = backend.toJSON().Resources[idle.AlarmActions[0].Ref].Properties;
    expect(policy.StepScalingPolicyConfiguration.AdjustmentType).toBe('ExactCapacity');
    // Every breach value, below and above the threshold, maps to zero instances.
    expect(policy.StepScalingPolicyConfiguration.StepAdjustments).toEqual([
      { MetricIntervalUpperBound: 0, ScalingAdjustment: 0 },
      { MetricIntervalLowerBound: 0, ScalingAdjustment: 0 },
    ]);
  });

  test('the endpoint log group has a retention', () => {
    backend.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/sagemaker/Endpoints/${ENDPOINT}`, RetentionInDays: 30 });
  });
});

describe('operations', () => {
  test('a function publishes EndpointInstances every minute and may describe this endpoint only', () => {
    operations.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    operations.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ ENDPOINT_NAME: ENDPOINT, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE }) },
    });
    operations.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sagemaker:DescribeEndpoint',
            Resource: { 'Fn::Join': ['', ['arn:aws:sagemaker:us-east-1:', { Ref: 'AWS::AccountId' }, `:endpoint/${ENDPOINT}`]] },
          }),
        ]),
      },
    });
  });

  test('the dashboard shows traffic, generation time, queue, instances, WAF blocks, errors and dollars', () => {
    const [dashboard] = resourcesOf(operations, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.DashboardBody);
    for (const name of [METRIC_NAMES.imagesCompleted, METRIC_NAMES.imagesWithheld, METRIC_NAMES.generationSeconds, 'ApproximateBacklogSize', 'BlockedRequests']) {
      expect(body).toContain(name);
    }
    expect(body).toContain(String.raw`[\"ServerlessDiffusion\",\"EndpointInstances\",\"EndpointName\",\"serverless-diffusion\"`);
    expect(body).toContain(String.raw`\"AWS/Lambda\",\"Errors\"`);
    // GPU dollars per day: average instances x 24 h x the hourly price.
    expect(body).toContain(`FILL(instances, 0) * ${num(24 * SAGEMAKER_HOSTING_HOURLY_USD['ml.g4dn.xlarge'])}`);
    expect(body).toContain('IF(images > 0, total / images, 0)');
    operations.hasOutput('DashboardUrl', Match.anyValue());
  });

  test('alarms for backlog, stalled wake-ups and failures notify the alert topic', () => {
    const alarms = resourcesOf(operations, 'AWS::CloudWatch::Alarm');
    const metricNames = alarms.map((a) => a.MetricName).sort();
    expect(metricNames).toEqual(
      ['ApproximateBacklogSize', 'Errors', 'HasBacklogWithoutCapacity', METRIC_NAMES.imagesFailed, 'NumberOfMessagesPublished'].sort(),
    );
    const [topicId] = Object.keys(operations.findResources('AWS::SNS::Topic'));
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
    operations.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('the cost estimate counts the alarms and WAF rules that were synthesized', () => {
    const settings = costSettings(app.config);
    const alarms = Object.values(app.raw).flatMap((t) => Object.values(t.Resources)).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    // Target tracking creates its two alarms itself, outside the templates.
    expect(settings.alarmCount).toBe(alarms.length + 2);
    const [acl] = resourcesOf(gateway, 'AWS::WAFv2::WebACL');
    expect(settings.wafRuleCount).toBe(acl.Rules.length);
  });

  test('a monthly budget e-mails the configured addresses', () => {
    operations.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 30, Unit: 'USD' }, BudgetName: 'ServerlessDiffusion-monthly' },
      NotificationsWithSubscribers: [
        Match.objectLike({
          Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 80 }),
          Subscribers: [{ SubscriptionType: 'EMAIL', Address: 'ops@example.com' }],
        }),
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'FORECASTED', Threshold: 100 }) }),
        Match.objectLike({
          Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 100 }),
          Subscribers: [
            { SubscriptionType: 'EMAIL', Address: 'ops@example.com' },
            { SubscriptionType: 'SNS', Address: { Ref: Match.stringLikeRegexp('^BudgetActionTopic') } },
          ],
        }),
      ],
    });
  });

  test('past the budget, AWS Budgets tells a function that throttles this API stage to zero, and nothing else', () => {
    const [topicId] = Object.keys(operations.findResources('AWS::SNS::Topic')).filter((id) => id.startsWith('BudgetActionTopic'));
    operations.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sns:Publish',
            Principal: { Service: 'budgets.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    const [[fnId, fn]] = Object.entries(operations.findResources('AWS::Lambda::Function')).filter(([id]) => id.startsWith('BudgetActionHandler'));
    operations.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda', TopicArn: { Ref: topicId }, Endpoint: { 'Fn::GetAtt': [fnId, 'Arn'] } });
    const env = fn.Properties.Environment.Variables;
    expect(env).toMatchObject({ REST_API_ID: { 'Fn::ImportValue': expect.stringMatching(/^ServerlessDiffusion-Gateway:ExportsOutputRefApi/) }, STAGE_NAME: 'prod' });
    // SageMaker scales in by itself once no request arrives: no engine to stop in async mode.
    expect(env.ENGINE_FUNCTION_NAME).toBeUndefined();
    const statements = Object.values(operations.findResources('AWS::IAM::Policy'))
      .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref.startsWith('BudgetActionHandlerRole')))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(statements.map((statement: any) => [statement.Action].flat().join('+')).sort()).toEqual(['apigateway:GET+apigateway:PATCH', 'logs:CreateLogStream+logs:PutLogEvents']);
    const stageArn = JSON.stringify(statements.find((statement: any) => [statement.Action].flat().includes('apigateway:PATCH')).Resource);
    expect(stageArn).toMatch(/^\{"Fn::Join":\["",\["arn:aws:apigateway:us-east-1::\/restapis\/",\{"Fn::ImportValue":"[^"]+"\},"\/stages\/prod"\]\]\}$/);
  });
});

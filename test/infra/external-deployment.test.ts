import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgements, cfnLint, synthesize, type Synthesized } from './support/synth';

/**
 * The external backend (an engine somewhere else that speaks the container contract; no SageMaker)
 * without WAF: a private deployment with block and allow lists in the API's resource policy.
 */
let app: Synthesized;

beforeAll(() => {
  app = synthesize({
    backend: { mode: 'external', externalUrl: 'https://engine.example.com' },
    waf: { enabled: false, blockCidrs: ['192.0.2.0/24', '2001:db8:bad::/48'], allowCidrs: ['198.51.100.0/24'], allowListOnly: true },
  });
});
afterAll(() => app?.cleanup());

test('deploys no backend stack and no SageMaker resource anywhere', () => {
  expect(app.templates.backend).toBeUndefined();
  expect(Object.keys(app.raw).sort()).toEqual(
    ['ServerlessDiffusion-Front', 'ServerlessDiffusion-Gateway', 'ServerlessDiffusion-Operations', 'ServerlessDiffusion-Site'].sort(),
  );
  for (const template of Object.values(app.raw)) {
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    expect(types.filter((type) => type.startsWith('AWS::SageMaker::') || type.startsWith('AWS::ApplicationAutoScaling::'))).toEqual([]);
  }
  expect(JSON.stringify(app.raw)).not.toContain('sagemaker:');
});

test('warns at synth when no alert e-mail is configured (the budget would notify nobody)', () => {
  const operations = app.app.node.findAll().find((construct) => construct.node.id === 'ServerlessDiffusion-Operations')!;
  const warnings = operations.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning').map((entry) => String(entry.data));
  expect(warnings).toEqual([expect.stringMatching(/alerts\.emails is empty/)]);
});

test('without WAF: no web ACL; the resource policy holds the lists and the gateway limits the rate itself', () => {
  const gateway = app.templates.gateway!;
  for (const type of ['AWS::WAFv2::WebACL', 'AWS::WAFv2::IPSet', 'AWS::WAFv2::WebACLAssociation']) gateway.resourceCountIs(type, 0);
  const [api] = Object.values(gateway.findResources('AWS::ApiGateway::RestApi')).map((resource) => resource.Properties);
  const everyone = { Principal: { AWS: '*' }, Action: 'execute-api:Invoke', Resource: 'execute-api:/*' };
  expect(api.Policy.Statement).toEqual([
    { Sid: 'PublicInvoke', Effect: 'Allow', ...everyone },
    { Sid: 'BlockList', Effect: 'Deny', ...everyone, Condition: { IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8:bad::/48'] } } },
    { Sid: 'AllowListOnly', Effect: 'Deny', ...everyone, Condition: { NotIpAddress: { 'aws:SourceIp': ['198.51.100.0/24'] } } },
  ]);
  const fn = Object.values(gateway.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.BACKEND_MODE);
  // The external engine reports its own model on /ping; the deploy's model folder says nothing about it.
  expect(fn?.Properties.Environment.Variables.MODEL_INFO).toBeUndefined();
  expect(fn?.Properties.Environment.Variables).toMatchObject({
    RATE_LIMIT_PER_IP: '100',
    RATE_LIMIT_CREATE_IMAGE_PER_IP: '10',
    RATE_LIMIT_WINDOW_SECONDS: '300',
    RATE_LIMIT_EXEMPT_CIDRS: '198.51.100.0/24',
  });
  // npm run block finds the API and its stage through the outputs; there is no IP set to name.
  gateway.hasOutput('RestApiId', { Value: { Ref: Object.keys(gateway.findResources('AWS::ApiGateway::RestApi'))[0] } });
  gateway.hasOutput('StageName', { Value: 'prod' });
  expect(Object.keys(gateway.findOutputs('BlockListIpv4Arn'))).toEqual([]);
  expect(JSON.stringify(app.templates.operations!.toJSON())).not.toContain('AWS/WAFV2');
  const missingWaf = acknowledgements(app.app).filter(({ id }) => id.endsWith('AwsSolutions-APIG3'));
  expect(missingWaf).toEqual([expect.objectContaining({ reason: expect.stringMatching(/waf\.enabled is false by choice/) })]);
});

test('the gateway calls the external URL', () => {
  const fn = Object.values(app.templates.gateway!.findResources('AWS::Lambda::Function')).find(
    (f) => f.Properties.Environment?.Variables?.BACKEND_MODE,
  );
  expect(fn?.Properties.Environment.Variables).toMatchObject({
    BACKEND_MODE: 'external',
    EXTERNAL_URL: 'https://engine.example.com',
    ENDPOINT_NAME: '',
  });
});

test('cdk-nag passes and cfn-lint reports no errors', () => {
  const errors = cfnLint(app.outdir, Object.keys(app.raw)).filter((finding) => finding.Level === 'Error');
  expect(errors.map((e) => `${path.basename(e.Filename)} ${e.Rule.Id} ${e.Message}`)).toEqual([]);
});

test('the cdk-nag harness does fail synthesis on an unacknowledged finding', () => {
  // A control for the other suites: they pass only because synthesis would throw otherwise.
  const control = new App();
  const stack = new Stack(control, 'Control');
  new s3.Bucket(stack, 'Unlogged', { enforceSSL: true });
  Validations.of(control).addPlugins(new AwsSolutionsChecks(control));
  expect(() => control.synth()).toThrow(/AwsSolutions-S1/);
});

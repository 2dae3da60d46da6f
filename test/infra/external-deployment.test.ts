import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { cfnLint, synthesize, type Synthesized } from './support/synth';

/** The external backend: an engine somewhere else that speaks the container contract; no SageMaker. */
let app: Synthesized;

beforeAll(() => {
  app = synthesize({ backend: { mode: 'external', externalUrl: 'https://engine.example.com' } });
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

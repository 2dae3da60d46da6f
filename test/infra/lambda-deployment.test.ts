import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { engineWarmUpEventSchema } from '../../contract/engine-invocation';
import { LIMITS } from '../../contract/limits';
import { folderBytes } from '../../lib/config/model-folder';
import { costSettings } from '../../lib/cost/cost-model';
import { cfnLint, synthesize, type Synthesized } from './support/synth';

/**
 * The lambda backend (the engine as a container-image Lambda function) without WAF, with the LCM
 * test model and a per-step time that puts the timeout below Lambda's 15 minutes, so that the
 * sizing shows, and kept warm on weekdays (one synth for both: each costs seconds; the schedule's
 * other shapes are in `engine-keep-warm.test.ts`, its absence by default in the configuration tests).
 */
const MODEL = 'test/fixtures/oracle/models/tiny-lcm';
const FUNCTION_NAME = 'serverless-diffusion-engine';
let app: Synthesized;
let gateway: Template;
let backend: Template;
let operations: Template;

beforeAll(() => {
  app = synthesize({
    backend: {
      mode: 'lambda',
      maxInstances: 3,
      lambdaSecondsPerStep: 0.5,
      engineThreads: 6,
      // A set cold start, so the timeout's arithmetic below does not move with the measured estimate.
      coldStartSeconds: 60,
      keepWarm: { fromHourUtc: 8, toHourUtc: 20, days: 'weekdays' },
    },
    model: { localPath: MODEL },
    waf: { enabled: false },
  });
  ({ gateway, backend, operations } = app.templates as Required<typeof app.templates>);
});
afterAll(() => app?.cleanup());

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };

/** An ARN as text: `Fn::Join` flattened, references as `{Ref}` and `{Resource.Attribute}`. */
function arn(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, any>;
  if (node.Ref) return `{${node.Ref}}`;
  if (node['Fn::GetAtt']) return `{${node['Fn::GetAtt'].join('.')}}`;
  if (node['Fn::ImportValue']) return `{Import:${node['Fn::ImportValue']}}`;
  if (node['Fn::Join']) return node['Fn::Join'][1].map(arn).join(node['Fn::Join'][0]);
  throw new Error(`not an ARN: ${JSON.stringify(value)}`);
}

/** Every (action, resource, condition) the role's policies allow, sorted. */
function grants(template: Template, rolePrefix: string): string[] {
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref.startsWith(rolePrefix)))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  return statements
    .flatMap((statement) =>
      [statement.Action].flat().flatMap((action) =>
        [statement.Resource].flat().map((resource) => `${action} ${arn(resource)}${statement.Condition ? ` ${JSON.stringify(statement.Condition)}` : ''}`),
      ),
    )
    .sort();
}

function engineFunction(): Record<string, any> {
  const [fn] = Object.values(backend.findResources('AWS::Lambda::Function', { Properties: { FunctionName: FUNCTION_NAME } }));
  return fn.Properties;
}

test('cdk-nag passes and cfn-lint reports no errors', () => {
  const errors = cfnLint(app.outdir, Object.keys(app.raw)).filter((finding) => finding.Level === 'Error');
  expect(errors.map((e) => `${path.basename(e.Filename)} ${e.Rule.Id} ${e.Message}`)).toEqual([]);
});

test('the engine is the Dockerfile\'s lambda target, at full memory, with its timeout sized from the request limits', () => {
  const fn = engineFunction();
  expect(fn).toMatchObject({ PackageType: 'Image', Architectures: ['x86_64'], MemorySize: 10240, ReservedConcurrentExecutions: 3 });
  expect(JSON.stringify(fn.Code.ImageUri)).toMatch(/container-assets/);
  const assets = JSON.parse(readFileSync(path.join(app.outdir, 'ServerlessDiffusion-Backend.assets.json'), 'utf8'));
  expect(Object.values(assets.dockerImages).map((image: any) => image.source)).toEqual([
    expect.objectContaining({ dockerFile: 'container/Dockerfile', dockerBuildTarget: 'lambda', platform: 'linux/amd64' }),
  ]);
  // A cold start of 60 s, then 4 images of 50 steps at 0.5 s and a 5 s decode each, a fifth to spare.
  const timeout = Math.ceil((60 + LIMITS.numImagesMax * (LIMITS.stepsMax * 0.5 + 5)) * 1.2);
  expect(timeout).toBe(216);
  expect(fn.Timeout).toBe(timeout);
  expect(app.config.backend.lambdaTimeoutSeconds).toBe(timeout);
  // The staged model and a tenth more, plus 512 MB of scratch for onnxruntime.
  expect(fn.EphemeralStorage.Size).toBe(Math.ceil((folderBytes(path.resolve(MODEL)).bytes * 1.1) / 2 ** 20) + 512);
  expect(arn(fn.Environment.Variables.MODEL_S3_URI)).toMatch(/^s3:\/\/\{ModelDataBucket\w+\}\/models\/[0-9a-f]{64}\/$/);
  expect(fn.Environment.Variables.EXECUTION_PROVIDER).toBe('cpu');
  expect(fn.Environment.Variables.SAFETY_CHECKER).toBe('model');
  expect(fn.Environment.Variables.ENGINE_THREADS).toBe('6');
});

test('asynchronous runs are never retried, and a failed one goes to the recorder', () => {
  const [config] = Object.values(backend.findResources('AWS::Lambda::EventInvokeConfig')).map((resource) => resource.Properties);
  const [recorder] = Object.keys(backend.findResources('AWS::Lambda::Function', { Properties: { Description: 'Writes the failure of a Lambda engine run that could not answer for itself' } }));
  expect(config).toEqual({
    FunctionName: { Ref: expect.stringMatching(/^EngineFunction/) },
    Qualifier: '$LATEST',
    MaximumRetryAttempts: 0,
    MaximumEventAgeInSeconds: 6 * 60 * 60,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [recorder, 'Arn'] } } },
  });
});

test('the engine role reads its inputs and model, writes outputs and failures, and nothing else', () => {
  const jobs = 'arn:aws:s3:::serverless-diffusion-jobs-{AWS::AccountId}-us-east-1';
  const granted = grants(backend, 'EngineRole');
  const s3 = granted.filter((grant) => grant.startsWith('s3:'));
  expect(s3).toEqual([
    `s3:GetObject ${jobs}/inputs/*`,
    expect.stringMatching(/^s3:GetObject \{ModelDataBucket\w+\.Arn\}\/models\/[0-9a-f]{64}\/\*$/),
    `s3:ListBucket ${jobs} {"StringLike":{"s3:prefix":["inputs/*"]}}`,
    expect.stringMatching(/^s3:ListBucket \{ModelDataBucket\w+\.Arn\} \{"StringLike":\{"s3:prefix":\["models\/[0-9a-f]{64}\/\*"\]\}\}$/),
    `s3:PutObject ${jobs}/failures/*`,
    `s3:PutObject ${jobs}/outputs/*`,
  ]);
  // Besides S3: its own log group, and the on-failure destination.
  expect(granted.filter((grant) => !grant.startsWith('s3:')).map((grant) => grant.replace(/\{\w+?(\.Arn)?\}/g, '{}'))).toEqual([
    'lambda:InvokeFunction {}',
    'lambda:InvokeFunction {}:*',
    'logs:CreateLogStream {}',
    'logs:PutLogEvents {}',
  ]);
  expect(grants(backend, 'EngineFailureRecorderRole').filter((grant) => grant.startsWith('s3:'))).toEqual([`s3:PutObject ${jobs}/failures/*`]);
});

test('the gateway writes requests and cancel markers, reads the engine\'s outputs and failures, and keeps its images apart', () => {
  const jobs = '{JobsBucket}';
  const s3 = grants(gateway, 'GatewayHandlerRole').filter((grant) => grant.startsWith('s3:'));
  expect(s3.map((grant) => grant.replace(/\{JobsBucket\w+\.Arn\}/, jobs))).toEqual([
    `s3:GetObject ${jobs}/failures/*`,
    `s3:GetObject ${jobs}/images/*`,
    `s3:GetObject ${jobs}/outputs/*`,
    `s3:ListBucket ${jobs} {"StringLike":{"s3:prefix":["outputs/*","failures/*"]}}`,
    `s3:PutObject ${jobs}/images/*`,
    `s3:PutObject ${jobs}/inputs/*`,
  ]);
});

test('past the budget, the budget action also sets the engine function\'s concurrency to zero', () => {
  const [fn] = Object.values(operations.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.Environment?.Variables?.STAGE_NAME);
  expect(fn.Properties.Environment.Variables.ENGINE_FUNCTION_NAME).toBe(FUNCTION_NAME);
  expect(grants(operations, 'BudgetActionHandlerRole').filter((grant) => grant.startsWith('lambda:'))).toEqual([
    'lambda:PutFunctionConcurrency arn:aws:lambda:us-east-1:{AWS::AccountId}:function:serverless-diffusion-engine',
  ]);
});

test('the keep-warm rule sends the warm-up event in the window, every 5 minutes by default, and never retries it', () => {
  const rules = Object.entries(backend.findResources('AWS::Events::Rule'));
  expect(rules).toHaveLength(1);
  const [[ruleId, { Properties: rule }]] = rules;
  // 08:00 to 19:55 UTC, Monday to Friday: toHourUtc 20 is not included.
  expect(rule.ScheduleExpression).toBe('cron(0/5 8-19 ? * MON-FRI *)');
  expect(rule.State).toBe('ENABLED');
  const [engineId] = Object.keys(backend.findResources('AWS::Lambda::Function', { Properties: { FunctionName: FUNCTION_NAME } }));
  expect(rule.Targets).toEqual([
    {
      Id: expect.any(String),
      Arn: { 'Fn::GetAtt': [engineId, 'Arn'] },
      Input: expect.any(String),
      RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 5 * 60 },
    },
  ]);
  // The event the gateway's POST /v1/warmups sends, which the engine's handler recognizes.
  const input = JSON.parse(rule.Targets[0].Input);
  expect(input).toEqual({ warmup: true });
  expect(engineWarmUpEventSchema.safeParse(input).success).toBe(true);
  backend.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    FunctionName: { 'Fn::GetAtt': [engineId, 'Arn'] },
    Principal: 'events.amazonaws.com',
    SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
  });
});

test('no SageMaker endpoint, scaling or instance-count publisher anywhere, and no schedule but the keep-warm rule', () => {
  for (const template of Object.values(app.raw)) {
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    expect(types.filter((type) => /^AWS::(SageMaker|ApplicationAutoScaling)::/.test(type))).toEqual([]);
  }
  const rules = Object.values(app.raw).flatMap((template) => Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Events::Rule'));
  expect(rules.map((rule) => rule.Properties?.Description)).toEqual([
    'Keeps the engine function warm: its warm-up event 08-20 UTC weekdays, every 5 min',
  ]);
  const text = JSON.stringify(app.raw);
  expect(text).not.toContain('sagemaker:');
  expect(text).not.toContain('AWS/SageMaker');
  expect(text).not.toContain('EndpointInstances');
});

test('the gateway invokes that one function, knows its timeout and the model, and waits by lambda mode\'s own estimates', () => {
  const [fn] = Object.values(gateway.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.Environment?.Variables?.BACKEND_MODE);
  const env = fn.Properties.Environment.Variables;
  expect(env).toMatchObject({
    BACKEND_MODE: 'lambda',
    ENGINE_FUNCTION_NAME: FUNCTION_NAME,
    ENGINE_TIMEOUT_SECONDS: '216',
    JOBS_PREFIX_FAILURE: 'failures/',
    COLD_START_SECONDS: '60',
    // Estimated for this model (lib/config/lambda-engine-estimate.ts: 4 LCM steps, the full decoder).
    SECONDS_PER_IMAGE: String(app.config.backend.secondsPerImage),
  });
  expect(Object.keys(env).filter((name) => name.startsWith('GPU_'))).toEqual([]);
  // tiny-lcm: an LCM-distilled UNet with a VAE encoder, 8 latent cells a side.
  expect(JSON.parse(env.MODEL_INFO)).toEqual({
    width: 64,
    height: 64,
    scheduler: 'lcm',
    steps: 4,
    guidance_scale: 8.5,
    accepts_init_image: true,
    accepts_negative_prompt: false,
    content_filter: 'none',
    // backend.decoder auto: no taesd/ in the folder (lambda mode, CPU)
    decoder: 'full',
  });
  const granted = grants(gateway, 'GatewayHandlerRole');
  expect(granted.filter((grant) => grant.startsWith('lambda:'))).toEqual([`lambda:InvokeFunction arn:aws:lambda:us-east-1:{AWS::AccountId}:function:${FUNCTION_NAME}`]);
  expect(granted.filter((grant) => grant.startsWith('cloudwatch:'))).toEqual(['cloudwatch:GetMetricData *']);
});

test('alarms watch the engine function by name; the dashboard prices its GB-seconds', () => {
  const alarms = Object.values(operations.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
  const onEngine = alarms.filter((alarm) => alarm.Dimensions?.[0]?.Value === FUNCTION_NAME);
  expect(onEngine.map((alarm) => [alarm.MetricName, alarm.Statistic, alarm.Threshold])).toEqual([
    ['Errors', 'Sum', 1],
    ['AsyncEventAge', 'Maximum', 15 * 60 * 1000],
    // Nine tenths of the 216 s timeout, in milliseconds.
    ['Duration', 'Maximum', 194_400],
  ]);
  expect(costSettings(app.config).alarmCount).toBe(alarms.length);
  const body = JSON.stringify(Object.values(operations.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
  expect(body).toContain(String.raw`[\"AWS/Lambda\",\"ConcurrentExecutions\",\"FunctionName\",\"${FUNCTION_NAME}\"`);
  // Milliseconds of 10 GB at the x86 price.
  expect(body).toContain(`FILL(ms, 0) * ${((10 * 0.0000166667) / 1000).toFixed(15).replace(/0+$/, '')}`);
});

import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetBucketLocationCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ListEndpointsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ListAWSDefaultServiceQuotasCommand, ListServiceQuotasCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { parseDeploymentConfig, type DeploymentConfigInput } from '../../lib/config/deployment-config';
import type { CheckResult, PreflightContext } from '../../operator/preflight/check';
import type { CommandResult } from '../../operator/preflight/command-runner';
import { readDeploymentContext } from '../../operator/preflight/deployment-context';
import { exitCodeOf, runPreflight } from '../../operator/preflight/preflight';
import { formatResult, formatSummary } from '../../operator/preflight/report';
import { TINY_SD, TINY_SD_SAFETY } from '../support/oracle';
import { runNpmScript } from '../support/run-command';

const sts = mockClient(STSClient);
const sagemaker = mockClient(SageMakerClient);
const quotas = mockClient(ServiceQuotasClient);
const cloudFormation = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
const lambda = mockClient(LambdaClient);

const ACCOUNT = '123456789012';
const QUOTA = 'ml.g4dn.xlarge for endpoint usage';
const awsError = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });

/** Commands the fake Docker answers, by command line. */
type Commands = Record<string, Partial<CommandResult>>;
const DOCKER_OK: Commands = {
  'docker version --format {{.Server.Version}}': { stdout: '27.3.1\n' },
  'docker buildx ls': { stdout: 'NAME/NODE  DRIVER/ENDPOINT  STATUS   BUILDKIT  PLATFORMS\ndefault*   docker\n \\_ default  default  running  v0.16.0  linux/amd64, linux/386\n' },
};

let work: string;
let modelCopy: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'preflight-'));
  modelCopy = join(work, 'sd-1.5');
  cpSync(TINY_SD, modelCopy, { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every AWS answer a deployable account gives; tests change one at a time. */
beforeEach(() => {
  for (const mock of [sts, sagemaker, quotas, cloudFormation, s3, lambda]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ops` });
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '27' }] }],
  });
  sagemaker.on(ListEndpointsCommand).resolves({ Endpoints: [] });
  quotas.on(ListServiceQuotasCommand).resolves({ Quotas: [{ QuotaName: QUOTA, QuotaCode: 'L-B67CFA0C', Value: 2 }] });
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  lambda.on(GetFunctionConcurrencyCommand).rejects(awsError('ResourceNotFoundException', 'Function not found'));
});

const READY: DeploymentConfigInput = { alerts: { emails: ['ops@example.com'] }, budget: { monthlyLimitUsd: 20 } };

function context(input: DeploymentConfigInput = READY, options: { commands?: Commands; arch?: string; localModel?: string } = {}): PreflightContext {
  const raw = { ...(input as Record<string, unknown>) };
  if (!('model' in raw)) raw.model = { localPath: options.localModel ?? modelCopy };
  const commands = options.commands ?? DOCKER_OK;
  return {
    config: parseDeploymentConfig(raw),
    raw,
    aws: {
      sts: new STSClient({ region: 'us-east-1' }),
      sagemaker: new SageMakerClient({ region: 'us-east-1' }),
      serviceQuotas: new ServiceQuotasClient({ region: 'us-east-1' }),
      cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
      s3: new S3Client({ region: 'us-east-1' }),
      lambda: new LambdaClient({ region: 'us-east-1' }),
    },
    run: async (command, args) => {
      const answer = commands[[command, ...args].join(' ')];
      return answer ? { exitCode: 0, stdout: '', stderr: '', missing: false, ...answer } : { exitCode: 1, stdout: '', stderr: `unknown command ${command} ${args.join(' ')}`, missing: false };
    },
    arch: options.arch ?? 'x64',
    toolkitStackName: 'CDKToolkit',
  };
}

async function results(ctx: PreflightContext = context()): Promise<Record<string, CheckResult>> {
  return Object.fromEntries((await runPreflight(ctx)).map((result) => [result.name, result]));
}

describe('preflight', () => {
  test('a deployable account and machine pass every check, and the exit code is 0', async () => {
    const all = await runPreflight(context());
    expect(all.map((result) => [result.name, result.status])).toEqual([
      ['credentials', 'pass'],
      ['CDK bootstrap', 'pass'],
      ['SageMaker', 'pass'],
      ['GPU quota', 'pass'],
      ['Docker', 'pass'],
      ['model', 'pass'],
      ['content filter', 'pass'],
      ['alerts', 'pass'],
      ['budget', 'pass'],
    ]);
    expect(all[0].message).toBe(`account ${ACCOUNT} as arn:aws:iam::${ACCOUNT}:user/ops`);
    expect(all[3].message).toBe(`"${QUOTA}" is 2, enough for backend.maxInstances 1`);
    expect(all[5].message).toMatch(/passes the engine's check: 11\.9 MB, native size 64 px, image-to-image capable/);
    expect(exitCodeOf(all)).toBe(0);
    expect(formatSummary(all)).toBe('0 failed, 0 warnings, 9 passed: ready for npx cdk deploy --all');
  });

  test('the external mode checks only what it deploys', async () => {
    const all = await runPreflight(context({ ...READY, backend: { mode: 'external', externalUrl: 'https://gpu.example.com' } }));
    expect(all.map((result) => result.name)).toEqual(['credentials', 'CDK bootstrap', 'alerts', 'budget']);
  });

  test('each line carries the status, the finding and the fix', () => {
    expect(formatResult({ name: 'GPU quota', status: 'fail', message: 'is 0', fix: 'ask for 1' })).toBe('FAIL  GPU quota     is 0 — fix: ask for 1');
    expect(formatResult({ name: 'alerts', status: 'pass', message: 'fine', fix: 'unused' })).toBe('PASS  alerts        fine');
  });
});

describe('credentials', () => {
  test('no credentials fail, and the AWS checks say they were not run while the local ones still are', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const all = await results();
    expect(all.credentials).toMatchObject({ status: 'fail', message: expect.stringMatching(/no usable AWS credentials \(STS GetCallerIdentity failed: CredentialsProviderError/), fix: expect.stringMatching(/aws configure/) });
    for (const name of ['CDK bootstrap', 'SageMaker', 'GPU quota']) expect(all[name]).toMatchObject({ status: 'warn', message: 'not checked: it needs working AWS credentials' });
    expect(all.Docker.status).toBe('pass');
    expect(cloudFormation.calls()).toHaveLength(0);
    expect(exitCodeOf(Object.values(all))).toBe(1);
  });

  test('credentials for another account than the configured one fail', async () => {
    const all = await results(context({ ...READY, account: '111111111111' }));
    expect(all.credentials).toMatchObject({ status: 'fail', message: `the credentials are for account ${ACCOUNT}, but serverlessDiffusion.account is 111111111111` });
  });

  test('STS erroring otherwise is a warning that names it', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const all = await results();
    expect(all.credentials).toMatchObject({ status: 'warn', message: 'could not check: STS GetCallerIdentity failed: ThrottlingException: Rate exceeded' });
  });
});

describe('CDK bootstrap', () => {
  test('a missing bootstrap stack fails with the bootstrap command for this account and region', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id CDKToolkit does not exist'));
    expect((await results())['CDK bootstrap']).toMatchObject({
      status: 'fail',
      message: 'no CDKToolkit stack in us-east-1: this account and region are not bootstrapped',
      fix: `npx cdk bootstrap aws://${ACCOUNT}/us-east-1`,
    });
  });

  test('a failed bootstrap fails, one in progress warns', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date(0) }] });
    expect((await results())['CDK bootstrap']).toMatchObject({ status: 'fail', fix: `delete the CDKToolkit stack, then npx cdk bootstrap aws://${ACCOUNT}/us-east-1` });
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date(0) }] });
    expect((await results())['CDK bootstrap']).toMatchObject({ status: 'warn', message: 'CDKToolkit in us-east-1 is UPDATE_IN_PROGRESS' });
  });

  test('CloudFormation denying the call is a warning naming the API and what to allow', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(awsError('AccessDenied', 'not authorized to perform: cloudformation:DescribeStacks'));
    expect((await results())['CDK bootstrap']).toEqual({
      name: 'CDK bootstrap',
      status: 'warn',
      message: 'could not check: CloudFormation DescribeStacks failed: AccessDenied: not authorized to perform: cloudformation:DescribeStacks',
      fix: 'allow CloudFormation DescribeStacks to these credentials, or check this by hand',
    });
  });
});

describe('SageMaker in the region', () => {
  test('an existing endpoint of the same name is mentioned', async () => {
    sagemaker.on(ListEndpointsCommand).resolves({ Endpoints: [{ EndpointName: 'serverless-diffusion', EndpointArn: 'arn', EndpointStatus: 'InService', CreationTime: new Date(0), LastModifiedTime: new Date(0) }] });
    expect((await results()).SageMaker.message).toBe('SageMaker answers in us-east-1; endpoint serverless-diffusion already exists (InService), the deploy updates it');
  });

  test('a region without SageMaker fails; another error warns', async () => {
    sagemaker.on(ListEndpointsCommand).rejects(awsError('Error', 'getaddrinfo ENOTFOUND api.sagemaker.ap-nowhere-1.amazonaws.com', { code: 'ENOTFOUND' }));
    expect((await results()).SageMaker).toMatchObject({ status: 'fail', message: 'SageMaker has no API endpoint in us-east-1' });
    sagemaker.on(ListEndpointsCommand).rejects(awsError('InternalFailure', 'boom'));
    expect((await results()).SageMaker).toMatchObject({ status: 'warn', message: 'could not check: SageMaker ListEndpoints failed: InternalFailure: boom' });
  });
});

describe('GPU quota', () => {
  test('a quota below maxInstances fails with the request command and its quota code', async () => {
    quotas.on(ListServiceQuotasCommand).resolves({ Quotas: [{ QuotaName: QUOTA, QuotaCode: 'L-B67CFA0C', Value: 0 }] });
    expect((await results())['GPU quota']).toEqual({
      name: 'GPU quota',
      status: 'fail',
      message: `"${QUOTA}" is 0 in us-east-1 but backend.maxInstances is 1: the endpoint could not start its GPU`,
      fix: 'aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-B67CFA0C --desired-value 1 --region us-east-1 (or lower backend.maxInstances)',
    });
  });

  test('pages are followed, and a quota never changed is read from the AWS defaults', async () => {
    quotas
      .on(ListServiceQuotasCommand)
      .resolvesOnce({ Quotas: [{ QuotaName: 'ml.m5.large for endpoint usage', Value: 4 }], NextToken: 'page-2' })
      .resolvesOnce({ Quotas: [] });
    quotas.on(ListAWSDefaultServiceQuotasCommand).resolves({ Quotas: [{ QuotaName: QUOTA, QuotaCode: 'L-B67CFA0C', Value: 0 }] });
    const quota = (await results(context({ ...READY, backend: { maxInstances: 2 } })))['GPU quota'];
    expect(quota).toMatchObject({ status: 'fail', message: expect.stringContaining('is 0 (AWS default) in us-east-1 but backend.maxInstances is 2') });
    expect(quotas.commandCalls(ListServiceQuotasCommand).map((call) => call.args[0].input.NextToken)).toEqual([undefined, 'page-2']);
  });

  test('an instance type the region does not offer fails; Service Quotas erroring warns', async () => {
    quotas.on(ListServiceQuotasCommand).resolves({ Quotas: [] });
    quotas.on(ListAWSDefaultServiceQuotasCommand).resolves({ Quotas: [] });
    expect((await results())['GPU quota']).toMatchObject({ status: 'fail', message: `Service Quotas has no "${QUOTA}" in us-east-1: ml.g4dn.xlarge is not offered for endpoints there` });
    quotas.on(ListServiceQuotasCommand).rejects(awsError('AccessDeniedException', 'no servicequotas:ListServiceQuotas'));
    expect((await results())['GPU quota']).toMatchObject({ status: 'warn', message: 'could not check: ServiceQuotas ListServiceQuotas failed: AccessDeniedException: no servicequotas:ListServiceQuotas' });
  });
});

describe('Lambda quota (lambda mode)', () => {
  const LAMBDA: DeploymentConfigInput = { ...READY, backend: { mode: 'lambda' } };
  const limits = (total: number, unreserved: number) =>
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: total, UnreservedConcurrentExecutions: unreserved } });

  test('lambda mode checks the concurrency the engine function reserves instead of a GPU quota', async () => {
    const all = await runPreflight(context(LAMBDA));
    expect(all.map((result) => result.name)).toEqual(['credentials', 'CDK bootstrap', 'Lambda quota', 'Docker', 'model', 'content filter', 'alerts', 'budget']);
    expect(all.find((result) => result.name === 'Lambda quota')).toMatchObject({
      status: 'pass',
      message: '"Concurrent executions" is 1000 with 1000 unreserved: room for backend.maxInstances 1 and 100 for other functions',
    });
    expect(lambda.commandCalls(GetFunctionConcurrencyCommand)[0].args[0].input).toEqual({ FunctionName: 'serverless-diffusion-engine' });
  });

  test("a new account's quota of 10 fails with the quota request that makes room", async () => {
    limits(10, 10);
    expect((await results(context(LAMBDA)))['Lambda quota']).toEqual({
      name: 'Lambda quota',
      status: 'fail',
      message:
        '"Concurrent executions" is 10 in us-east-1 with 10 unreserved: reserving backend.maxInstances 1 for the engine function would leave 9, below the 100 Lambda keeps unreserved, so the deploy would fail',
      fix: 'aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 101 --region us-east-1',
    });
  });

  test('a redeploy counts what the engine function already holds; more instances than that room fail', async () => {
    limits(101, 100);
    lambda.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 1 });
    expect((await results(context(LAMBDA)))['Lambda quota'].status).toBe('pass');
    const more = (await results(context({ ...READY, backend: { mode: 'lambda', maxInstances: 3 } })))['Lambda quota'];
    expect(more).toMatchObject({ status: 'fail', message: expect.stringContaining('with 100 unreserved (and 1 the engine function already holds): reserving backend.maxInstances 3 for the engine function would leave 98, below the 100') });
    expect(more.fix).toBe(
      'aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 103 --region us-east-1 (or lower serverlessDiffusion.backend.maxInstances)',
    );
  });

  test('Lambda refusing to answer warns, naming the API', async () => {
    lambda.on(GetAccountSettingsCommand).rejects(awsError('AccessDeniedException', 'not allowed: lambda:GetAccountSettings'));
    expect((await results(context(LAMBDA)))['Lambda quota']).toMatchObject({
      status: 'warn',
      message: 'could not check: Lambda GetAccountSettings failed: AccessDeniedException: not allowed: lambda:GetAccountSettings',
      fix: 'allow Lambda GetAccountSettings to these credentials, or check this by hand',
    });
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
    lambda.on(GetFunctionConcurrencyCommand).rejects(awsError('AccessDeniedException', 'no'));
    expect((await results(context(LAMBDA)))['Lambda quota']).toMatchObject({ status: 'warn', message: expect.stringContaining('Lambda GetFunctionConcurrency failed') });
    lambda.on(GetAccountSettingsCommand).resolves({});
    expect((await results(context(LAMBDA)))['Lambda quota']).toMatchObject({ status: 'warn', message: 'Lambda GetAccountSettings answered without the account\'s concurrency limits' });
  });
});

describe('Docker', () => {
  const docker = async (commands: Commands, arch = 'x64') => (await results(context(READY, { commands, arch }))).Docker;

  test('missing, stopped, or unable to build linux/amd64 fails with the fix', async () => {
    expect(await docker({ 'docker version --format {{.Server.Version}}': { exitCode: null, missing: true } })).toMatchObject({ status: 'fail', message: '`docker` is not installed; the deploy builds the engine image with it' });
    expect(await docker({ 'docker version --format {{.Server.Version}}': { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n' } })).toMatchObject({
      status: 'fail',
      message: 'the Docker daemon does not answer (Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)',
    });
    expect(await docker({ ...DOCKER_OK, 'docker buildx ls': { stdout: 'default  docker  running  v0.16.0  linux/arm64\n' } }, 'arm64')).toMatchObject({
      status: 'fail',
      fix: 'docker run --privileged --rm tonistiigi/binfmt --install amd64',
    });
  });

  test('without buildx, an x86_64 machine still builds natively (a warning); an arm64 one cannot', async () => {
    const noBuildx = { 'docker version --format {{.Server.Version}}': DOCKER_OK['docker version --format {{.Server.Version}}'] };
    expect((await docker(noBuildx, 'x64')).status).toBe('warn');
    expect(await docker(noBuildx, 'arm64')).toMatchObject({ status: 'fail', message: 'Docker 27.3.1 without buildx cannot build linux/amd64 on this arm64 machine' });
  });
});

describe('model', () => {
  const sparseFile = (path: string, bytes: number) => {
    const fd = openSync(path, 'w');
    ftruncateSync(fd, bytes);
    closeSync(fd);
  };

  test('the bundled test model warns; a folder the engine refuses fails naming the file', async () => {
    expect((await results(context(READY, { localModel: relative(join(__dirname, '../..'), TINY_SD) }))).model).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('random-weight test model test/fixtures/oracle/models/tiny-sd'),
    });
    // One part missing, so that the engine's check (which looks for all parts at once) names it.
    const broken = mkdtempSync(join(work, 'broken-'));
    cpSync(TINY_SD, broken, { recursive: true });
    rmSync(join(broken, 'vae_decoder/model.onnx'));
    expect((await results(context(READY, { localModel: broken }))).model).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^the engine refuses .*broken-\w+: model folder .* is missing vae_decoder\/model\.onnx \(the VAE decoder\)$/),
    });
  });

  test('a local folder too large for the deploy\'s upload fails, pointing at npm run model -- upload', async () => {
    const large = mkdtempSync(join(work, 'large-'));
    cpSync(TINY_SD, large, { recursive: true });
    sparseFile(join(large, 'unet/model.onnx_data'), 5.5 * 1024 ** 3);
    const model = (await results(context(READY, { localModel: large }))).model;
    expect(model).toMatchObject({ status: 'fail', message: expect.stringContaining('is 5.9 GB: the deploy\'s upload unpacks the folder in 10 GiB of scratch space'), fix: expect.stringMatching(/^npm run model -- upload .* --bucket BUCKET, then set serverlessDiffusion\.model\.s3Uri/) });
  });

  test('a backend that bakes the model into its image checks the image limit (the hook for the Lambda backend)', async () => {
    const huge = mkdtempSync(join(work, 'huge-'));
    cpSync(TINY_SD, huge, { recursive: true });
    sparseFile(join(huge, 'unet/model.onnx_data'), 11 * 1024 ** 3);
    const ctx = context(READY, { localModel: huge });
    const lambda = { ...ctx, config: { ...ctx.config, backend: { ...ctx.config.backend, mode: 'lambda' as 'async' } } };
    const model = (await runPreflight(lambda)).find((result) => result.name === 'model');
    expect(model).toMatchObject({ status: 'fail', message: 'the model is 11.8 GB, over the 10 GiB image limit of the lambda backend' });
  });

  describe('in S3', () => {
    const S3_MODEL = { ...READY, model: { s3Uri: 's3://my-models/sd/' } };
    const files = readdirSync(TINY_SD, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(TINY_SD, join(entry.parentPath, entry.name)));

    beforeEach(() => {
      s3.on(GetBucketLocationCommand).resolves({});
      s3.on(ListObjectsV2Command)
        .resolvesOnce({ Contents: files.slice(0, 5).map((path) => ({ Key: `sd/${path}`, Size: statSync(join(TINY_SD, path)).size })), NextContinuationToken: 'more' })
        .resolvesOnce({ Contents: [{ Key: 'sd/', Size: 0 }, ...files.slice(5).map((path) => ({ Key: `sd/${path}`, Size: statSync(join(TINY_SD, path)).size }))] });
      s3.on(GetObjectCommand).callsFake(async ({ Key }) => ({ Body: Readable.from([readFileSync(join(TINY_SD, (Key as string).slice(3)))]) }));
    });

    test('passes the engine\'s check on a mirror, reading only the small files', async () => {
      const model = (await results(context(S3_MODEL))).model;
      expect(model).toMatchObject({ status: 'pass', message: "s3://my-models/sd/ passes the engine's check: 11.9 MB, native size 64 px, image-to-image capable" });
      const read = s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input.Key);
      expect(read).toContain('sd/scheduler/scheduler_config.json');
      expect(read.filter((key) => key!.endsWith('.onnx'))).toEqual([]);
    });

    test('a bucket in another region, or a prefix without the UNet, fails', async () => {
      s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'EU' });
      expect((await results(context(S3_MODEL))).model).toMatchObject({ status: 'fail', message: 'bucket my-models is in eu-west-1, the deployment in us-east-1: SageMaker reads model data from its own region' });
      s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: undefined });
      s3.on(ListObjectsV2Command).resolves({
        Contents: files.filter((path) => path !== 'unet/model.onnx').map((path) => ({ Key: `sd/${path}`, Size: statSync(join(TINY_SD, path)).size })),
      });
      expect((await results(context(S3_MODEL))).model).toMatchObject({ status: 'fail', message: 'the engine would refuse s3://my-models/sd/: model folder s3://my-models/sd is missing unet/model.onnx (the UNet)' });
    });

    test('an S3 API that errors is a warning that names it', async () => {
      s3.on(ListObjectsV2Command).rejects(awsError('AccessDenied', 'Access Denied'));
      expect((await results(context(S3_MODEL))).model).toMatchObject({ status: 'warn', message: 'could not check: S3 ListObjectsV2 failed: AccessDenied: Access Denied' });
    });
  });
});

describe('content filter', () => {
  test("passes with the model's safety checker; warns when it is turned off or a required one is missing", async () => {
    expect((await results(context(READY, { localModel: TINY_SD_SAFETY })))['content filter']).toMatchObject({ status: 'pass', message: expect.stringMatching(/safety checker screens every image/) });
    expect((await results(context({ ...READY, safety: { checker: 'off' } }, { localModel: TINY_SD_SAFETY })))['content filter']).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/safety\.checker is off: the site returns every image unfiltered/),
    });
    const withoutChecker = mkdtempSync(join(work, 'no-checker-'));
    cpSync(TINY_SD_SAFETY, withoutChecker, { recursive: true });
    rmSync(join(withoutChecker, 'safety_checker'), { recursive: true });
    expect((await results(context(READY, { localModel: withoutChecker })))['content filter']).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/model_index\.json requires a safety checker but the folder has no safety_checker\/model\.onnx/),
      fix: expect.stringMatching(/npm run model -- fetch REPO.*safety\.checker to "off"/),
    });
  });
});

describe('alerts and budget', () => {
  test('no alert e-mails fail; a budget left at its default warns', async () => {
    const all = await results(context({}));
    expect(all.alerts).toMatchObject({ status: 'fail', fix: expect.stringContaining('set serverlessDiffusion.alerts.emails in cdk.json') });
    expect(all.budget).toMatchObject({ status: 'warn', message: 'budget.monthlyLimitUsd is not set: the default, $30 a month for the whole account, applies' });
  });
});

describe('configuration as the CDK app reads it', () => {
  test('cdk.json with -c overrides on top', () => {
    const { config, raw } = readDeploymentContext(['serverlessDiffusion.backend.maxInstances=3', 'serverlessDiffusion.alerts.emails=["a@example.com"]']);
    expect(config.backend.maxInstances).toBe(3);
    expect(config.alerts.emails).toEqual(['a@example.com']);
    expect(raw.model).toEqual({ localPath: 'test/fixtures/oracle/models/tiny-sd' });
    expect(() => readDeploymentContext(['no-equals-sign'])).toThrow('-c takes key=value, as cdk does, but got "no-equals-sign"');
  });

  test('npm run preflight reports a bad override as a failed check, exit code 1, before any AWS call', async () => {
    const result = await runNpmScript('preflight', ['-c', 'serverlessDiffusion.backend.maxInstances=0']);
    expect(result.stdout).toMatch(/^FAIL  configuration serverlessDiffusion\.backend\.maxInstances: .* — fix: correct cdk\.json/m);
    expect(result.stderr).toContain('preflight: the configuration is invalid');
    expect(result.code).toBe(1);
  });
});

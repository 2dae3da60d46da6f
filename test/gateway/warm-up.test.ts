import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { engineWarmUpEventSchema } from '../../contract/engine-invocation';
import { openApiDocument } from '../../contract/openapi';
import { awsGateway, bucket, mocks, resetAws, table } from './support/aws-fakes';
import { apiEvent } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const LAMBDA_ENV = { BACKEND_MODE: 'lambda', ENDPOINT_NAME: '', ENGINE_FUNCTION_NAME: 'sd-engine', ENGINE_TIMEOUT_SECONDS: '900', COLD_START_SECONDS: '60' };
const validate = openApiResponseValidator(openApiDocument());
const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);
const warmUp = (ip = '198.51.100.9') => apiEvent({ method: 'POST', path: '/v1/warmups', ip });
const noon = new Date('2026-03-14T12:00:00Z');
const later = (seconds: number) => new Date(noon.getTime() + seconds * 1000);
/** Everything but the warm-up lease and the rate counters: jobs, quotas, the GPU ledger. */
const touched = () => [...table.keys()].filter((key) => key !== 'warmup' && !key.startsWith('rate#'));

/** No invocation in CloudWatch's last minutes: the function is cold. */
function coldFunction(): void {
  mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
}

beforeEach(() => resetAws());

describe('POST /v1/warmups in lambda mode', () => {
  it('invokes the engine function asynchronously with the warm-up event, and answers the documented body', async () => {
    coldFunction();
    const { gateway } = awsGateway(LAMBDA_ENV, () => noon);
    const result = await gateway(warmUp());
    expect(result.statusCode).toBe(200);
    expect(validate('POST', '/v1/warmups', 200, body(result))).toEqual([]);
    expect(body(result)).toEqual({ state: 'cold', warming: true });
    const calls = mocks.lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const { input } = calls[0].args[0];
    expect(input).toMatchObject({ FunctionName: 'sd-engine', InvocationType: 'Event' });
    expect(engineWarmUpEventSchema.parse(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8')))).toEqual({ warmup: true });
  });

  it('is idempotent: a second visit while the first warm-up runs invokes nothing more, and one after the lease may warm again', async () => {
    coldFunction();
    let clock = noon;
    const { gateway } = awsGateway(LAMBDA_ENV, () => clock);
    expect(body(await gateway(warmUp('198.51.100.1')))).toEqual({ state: 'cold', warming: true });
    clock = later(30);
    expect(body(await gateway(warmUp('198.51.100.2')))).toEqual({ state: 'warming', warming: true });
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    // The lease is as long as a cold start (60 s here); the status cache has long forgotten too.
    clock = later(61);
    await gateway(warmUp('198.51.100.3'));
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(2);
  });

  it('makes GET /v1/status say "Getting ready…" while the warm-up runs, counting down the cold start, and cold once the lease ends', async () => {
    coldFunction();
    let clock = noon;
    const { gateway } = awsGateway({ ...LAMBDA_ENV, SECONDS_PER_IMAGE: '10' }, () => clock);
    const status = async () => body(await gateway(apiEvent({ method: 'GET', path: '/v1/status' })));
    expect(await status()).toMatchObject({ state: 'cold', estimated_wait_seconds: 70 });
    await gateway(warmUp());
    clock = later(20);
    const warming = await status();
    expect(validate('GET', '/v1/status', 200, warming)).toEqual([]);
    expect(warming).toMatchObject({ state: 'warming', estimated_wait_seconds: 50, message: expect.stringMatching(/^Getting ready… /) });
    clock = later(61);
    expect(await status()).toMatchObject({ state: 'cold', estimated_wait_seconds: 70 });
  });

  it('starts one warm-up when many visitors arrive at once', async () => {
    coldFunction();
    const { gateway } = awsGateway(LAMBDA_ENV, () => noon);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => gateway(warmUp(`198.51.100.${i + 1}`))));
    expect(results.map((result) => result.statusCode)).toEqual(Array(8).fill(200));
    expect(results.every((result) => body(result).warming)).toBe(true);
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('leaves a warm function alone', async () => {
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'invocations', Timestamps: [later(-60)], Values: [2] },
        { Id: 'received', Timestamps: [later(-60)], Values: [1] },
        { Id: 'concurrent', Timestamps: [later(-60)], Values: [0] },
      ],
    });
    const { gateway } = awsGateway(LAMBDA_ENV, () => noon);
    expect(body(await gateway(warmUp()))).toEqual({ state: 'warm', warming: false });
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('creates no job, takes no quota and writes nothing to S3', async () => {
    coldFunction();
    const { gateway } = awsGateway({ ...LAMBDA_ENV, QUOTA_PER_IP_PER_DAY: '1' }, () => noon);
    for (let i = 0; i < 3; i++) expect((await gateway(warmUp())).statusCode).toBe(200);
    expect(touched()).toEqual([]);
    expect(bucket.size).toBe(0);
  });

  it('gives the lease back when the function cannot be invoked, so the next visit tries again', async () => {
    coldFunction();
    mocks.lambda.on(InvokeCommand).rejectsOnce(new Error('Rate exceeded')).resolves({ StatusCode: 202 });
    const { gateway } = awsGateway(LAMBDA_ENV, () => noon);
    expect((await gateway(warmUp())).statusCode).toBe(500);
    expect(table.has('warmup')).toBe(false);
    expect(body(await gateway(warmUp()))).toEqual({ state: 'cold', warming: true });
  });

  it('is rate limited per address by the gateway\'s own limiter, on its own counter', async () => {
    coldFunction();
    const env = { ...LAMBDA_ENV, RATE_LIMIT_PER_IP: '10', RATE_LIMIT_CREATE_IMAGE_PER_IP: '2', RATE_LIMIT_WINDOW_SECONDS: '300' };
    const { gateway } = awsGateway(env, () => noon);
    expect((await gateway(warmUp())).statusCode).toBe(200);
    expect((await gateway(warmUp())).statusCode).toBe(200);
    const refused = await gateway(warmUp());
    expect(refused.statusCode).toBe(429);
    expect(body(refused).error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('warm-ups') });
    expect(validate('POST', '/v1/warmups', 429, body(refused))).toEqual([]);
    expect((await gateway(warmUp('203.0.113.4'))).statusCode).toBe(200);
    expect([...table.keys()].filter((key) => key.startsWith('rate#warmUp#'))).toHaveLength(2);
  });
});

describe('POST /v1/warmups in async GPU mode', () => {
  const GPU_ENV = { GPU_MINUTES_PER_DAY: '12', GPU_IDLE_SECONDS: '420', COLD_START_SECONDS: '300', SECONDS_PER_IMAGE: '8' };
  const asleep = () =>
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 0, DesiredInstanceCount: 0 }],
    } as never);

  it('wakes nothing unless the operator opted in (backend.warmOnVisit)', async () => {
    asleep();
    const { gateway } = awsGateway(GPU_ENV, () => noon);
    expect(body(await gateway(warmUp()))).toEqual({ state: 'cold', warming: false });
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(0);
    expect(touched()).toEqual([]);
  });

  it('with warmOnVisit, wakes the GPU once, charged to the GPU-time budget, and creates no job nor quota', async () => {
    asleep();
    const { gateway } = awsGateway({ ...GPU_ENV, WARM_ON_VISIT: 'true' }, () => noon);
    expect(body(await gateway(warmUp()))).toEqual({ state: 'cold', warming: true });
    expect(body(await gateway(warmUp('203.0.113.4')))).toEqual({ state: 'warming', warming: true });
    const invoked = mocks.runtime.commandCalls(InvokeEndpointAsyncCommand);
    expect(invoked).toHaveLength(1);
    const key = /^s3:\/\/jobs-bucket\/(.+)$/.exec(invoked[0].args[0].input.InputLocation!)![1];
    expect(JSON.parse(bucket.get(`jobs-bucket/${key}`)!.body.toString())).toEqual({ warmup: true });
    // Boot + idle period and scale-in lag: a wake-up with no image.
    expect(table.get('gpu#2026-03-14')).toMatchObject({ gpu_seconds: 300 + 420 });
    expect(touched()).toEqual(['gpu#2026-03-14']);
  });

  it('with warmOnVisit, is refused by the GPU-minutes guard once the day\'s budget is spent, and wakes nothing', async () => {
    asleep();
    table.set('gpu#2026-03-14', { pk: 'gpu#2026-03-14', gpu_seconds: 12 * 60, busy_until: 0, awake_until: 0, version: 3 });
    const { gateway } = awsGateway({ ...GPU_ENV, WARM_ON_VISIT: 'true' }, () => noon);
    const refused = await gateway(warmUp());
    expect(refused.statusCode).toBe(503);
    expect(body(refused).error).toMatchObject({ code: 'spend_guard' });
    expect(validate('POST', '/v1/warmups', 503, body(refused))).toEqual([]);
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(0);
    // The lease went back, so a visit after midnight is not blocked by it.
    expect(table.has('warmup')).toBe(false);
  });

  it('refuses a malformed WARM_ON_VISIT at cold start, naming the variable', () => {
    expect(() => awsGateway({ WARM_ON_VISIT: 'yes' })).toThrow('WARM_ON_VISIT must be true or false');
  });
});

describe('POST /v1/warmups on backends that warm nothing', () => {
  it('answers the serverless endpoint\'s state and starts nothing', async () => {
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 0, DesiredInstanceCount: 0 }],
    } as never);
    const { gateway } = awsGateway({ BACKEND_MODE: 'serverless' }, () => noon);
    const result = await gateway(warmUp());
    expect(result.statusCode).toBe(200);
    expect(body(result).warming).toBe(false);
    expect(table.size).toBe(0);
  });
});

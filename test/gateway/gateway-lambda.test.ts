import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { engineInvocationSchema } from '../../contract/engine-invocation';
import { openApiDocument } from '../../contract/openapi';
import { awsGateway, bucket, mocks, putObject, resetAws, table, refOf } from './support/aws-fakes';
import { engineResponse } from './support/engine-output';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const LAMBDA_ENV = {
  BACKEND_MODE: 'lambda',
  ENDPOINT_NAME: '',
  ENGINE_FUNCTION_NAME: 'sd-engine',
  ENGINE_TIMEOUT_SECONDS: '900',
};
const validate = openApiResponseValidator(openApiDocument());
const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);
const poll = (id: string) => apiEvent({ method: 'GET', path: `/v1/images/${id}` });
const quotaUsed = () =>
  [...table.entries()].filter(([key]) => key.startsWith('quota#ip#')).reduce((sum, [, item]) => sum + Number((item as { count?: number }).count ?? 0), 0);

beforeEach(() => resetAws());

function invocationOf(call = 0) {
  const input = mocks.lambda.commandCalls(InvokeCommand)[call].args[0].input;
  return { input, event: engineInvocationSchema.parse(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8'))) };
}

describe('the lambda backend', () => {
  it('writes the request to S3 and invokes the engine function asynchronously with where to answer', async () => {
    const { gateway } = awsGateway(LAMBDA_ENV);
    const request = { prompt: 'a red circle', steps: 4, num_images: 2 };
    const result = await gateway(postImages(request));
    expect(result.statusCode).toBe(202);
    expect(validate('POST', '/v1/images', 202, body(result))).toEqual([]);
    const { id } = body(result);
    const { input, event } = invocationOf();
    expect(input).toMatchObject({ FunctionName: 'sd-engine', InvocationType: 'Event' });
    const ref = refOf(id);
    expect(event).toEqual({
      job_ref: ref,
      input_location: `s3://jobs-bucket/inputs/${ref}.json`,
      output_location: `s3://jobs-bucket/outputs/${ref}.out`,
      failure_location: `s3://jobs-bucket/failures/${ref}-error.out`,
      progress_location: `s3://jobs-bucket/outputs/${ref}.progress.json`,
      cancel_location: `s3://jobs-bucket/inputs/${ref}.canceled`,
    });
    expect(JSON.parse(bucket.get(`jobs-bucket/inputs/${ref}.json`)!.body.toString())).toEqual(request);
  });

  it('reads progress while the function runs, then the answer from the output location, like SageMaker async', async () => {
    let now = new Date('2026-12-02T10:00:00Z');
    const { gateway } = awsGateway(LAMBDA_ENV, () => now);
    const { id } = body(await gateway(postImages({ prompt: 'a blue square', num_images: 2 })));
    const { event } = invocationOf();
    expect(body(await gateway(poll(id))).status).toBe('queued');

    putObject(event.progress_location, JSON.stringify({ started_at: now.toISOString(), step: 3, steps: 8 }));
    const running = await gateway(poll(id));
    expect(validate('GET', '/v1/images/{id}', 200, body(running))).toEqual([]);
    expect(body(running)).toMatchObject({ status: 'running', started_at: now.toISOString(), progress: { step: 3, steps: 8, fraction: 0.375 } });

    now = new Date(now.getTime() + 20_000);
    putObject(event.output_location, JSON.stringify(await engineResponse(2, 64)));
    const done = body(await gateway(poll(id)));
    expect(done.status).toBe('succeeded');
    expect(done.images).toHaveLength(2);
    expect(done.progress).toBeUndefined();
  });

  it('ends the job failed with the error the function (or its on-failure path) wrote', async () => {
    const { gateway } = awsGateway(LAMBDA_ENV);
    const { id } = body(await gateway(postImages({ prompt: 'x' })));
    putObject(invocationOf().event.failure_location, JSON.stringify({ error: { code: 'internal_error', message: 'the image generator ran out of memory on this request' } }));
    expect(body(await gateway(poll(id)))).toMatchObject({ status: 'failed', error: { code: 'internal_error', message: 'the image generator ran out of memory on this request' } });
  });

  it('never leaves a job running past the function timeout, even if no answer was written', async () => {
    const { gateway } = awsGateway(LAMBDA_ENV);
    const { id } = body(await gateway(postImages({ prompt: 'x' })));
    const { progress_location: progress } = invocationOf().event;
    // The backend reads the wall clock: a run that started 15 minutes ago may still be finishing.
    putObject(progress, JSON.stringify({ started_at: new Date(Date.now() - 15 * 60_000).toISOString(), step: 1, steps: 4 }));
    expect(body(await gateway(poll(id))).status).toBe('running');
    putObject(progress, JSON.stringify({ started_at: new Date(Date.now() - 17 * 60_000).toISOString(), step: 1, steps: 4 }));
    expect(body(await gateway(poll(id)))).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
  });

  it('cancels a job still in Lambda\'s queue: a marker the function reads, and the images back to the quota', async () => {
    const { gateway } = awsGateway(LAMBDA_ENV);
    const { id } = body(await gateway(postImages({ prompt: 'x', num_images: 2 })));
    expect(quotaUsed()).toBe(2);
    const canceled = await gateway(apiEvent({ method: 'DELETE', path: `/v1/images/${id}` }));
    expect(body(canceled).status).toBe('canceled');
    expect(bucket.has(`jobs-bucket/inputs/${refOf(id)}.canceled`)).toBe(true);
    expect(quotaUsed()).toBe(0);
  });

  it('cancels a running job without a refund: the function has started and stops between steps', async () => {
    const { gateway } = awsGateway(LAMBDA_ENV);
    const { id } = body(await gateway(postImages({ prompt: 'x' })));
    putObject(invocationOf().event.progress_location, JSON.stringify({ started_at: new Date().toISOString(), step: 2, steps: 4 }));
    expect(body(await gateway(poll(id))).status).toBe('running');
    expect(body(await gateway(apiEvent({ method: 'DELETE', path: `/v1/images/${id}` }))).status).toBe('canceled');
    expect(bucket.has(`jobs-bucket/inputs/${refOf(id)}.canceled`)).toBe(true);
    expect(quotaUsed()).toBe(1);
  });

  it('refuses what the function cannot hold before any quota is taken, naming the field', async () => {
    const { gateway } = awsGateway(LAMBDA_ENV);
    const result = await gateway(postImages({ prompt: 'x', width: 768, height: 768 }));
    expect(result.statusCode).toBe(400);
    expect(body(result).error).toMatchObject({ code: 'invalid_request', field: 'width', message: expect.stringMatching(/at most 262144 pixels/) });
    expect(quotaUsed()).toBe(0);
    expect(mocks.lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('answers 503 backend_busy and keeps the quota when Lambda throttles the invoke itself', async () => {
    mocks.lambda.on(InvokeCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    const { gateway } = awsGateway(LAMBDA_ENV);
    const result = await gateway(postImages({ prompt: 'x' }));
    expect(result.statusCode).toBe(503);
    expect(body(result).error.code).toBe('backend_busy');
    expect(quotaUsed()).toBe(0);
  });
});

describe('/v1/status for the lambda backend', () => {
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
  function metrics(values: { invocations: Array<[number, number]>; received: number[]; concurrent: number[] }) {
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'invocations', Timestamps: values.invocations.map(([ago]) => at(ago)), Values: values.invocations.map(([, n]) => n) },
        { Id: 'received', Timestamps: values.received.map((_, i) => at(i)), Values: values.received },
        { Id: 'concurrent', Timestamps: values.concurrent.map((_, i) => at(i)), Values: values.concurrent },
      ],
    });
  }
  const status = async () => body(await awsGateway(LAMBDA_ENV).gateway(apiEvent({ method: 'GET', path: '/v1/status' })));

  it('is cold when nothing ran in the last minutes, and says what the first image costs in time', async () => {
    metrics({ invocations: [], received: [], concurrent: [] });
    expect(await status()).toMatchObject({ state: 'cold', instances: { current: 0, desired: 0 }, queue_depth: 0 });
  });

  it('is warm after a recent invocation', async () => {
    metrics({ invocations: [[2, 1]], received: [1], concurrent: [0] });
    expect((await status()).state).toBe('warm');
  });

  it('shows the jobs waiting in Lambda\'s queue once reserved concurrency is reached', async () => {
    metrics({ invocations: [[0, 2]], received: [5], concurrent: [2] });
    const answer = await status();
    expect(answer).toMatchObject({ state: 'warm', instances: { current: 2 }, queue_depth: 5 });
    expect(answer.message).toMatch(/5 requests are ahead of yours/);
  });
});

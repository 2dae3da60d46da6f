import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../contract/openapi';
import { awsGateway, bucket, captureStdout, mocks, putObject, resetAws, SIGNING_KEY, SITE_ORIGIN, table, refOf } from './support/aws-fakes';
import { engineResponse } from './support/engine-output';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';
import { createJobId } from '../../lambda/src/jobs/job-id';

const validate = openApiResponseValidator(openApiDocument());
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function body(result: APIGatewayProxyResult): any {
  return JSON.parse(result.body);
}

/** Asserts the response matches the OpenAPI document for that operation and status. */
function conforms(method: string, template: string, result: APIGatewayProxyResult): void {
  expect(validate(method, template, result.statusCode, body(result))).toEqual([]);
}

beforeEach(() => resetAws());

describe('POST /v1/images on the SageMaker async backend', () => {
  it('writes the request to S3, invokes the endpoint with the job’s reference, stores the job and answers 202', async () => {
    const { gateway } = awsGateway();
    const request = { prompt: 'a lighthouse at dusk', steps: 20, num_images: 2 };
    const result = await gateway(postImages(request));
    expect(result.statusCode).toBe(202);
    conforms('POST', '/v1/images', result);
    const job = body(result);
    expect(job).toMatchObject({ status: 'queued', parameters: request });
    expect(job.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Date(job.created_at).toISOString()).toBe(job.created_at);

    const input = bucket.get(`jobs-bucket/inputs/${refOf(job.id)}.json`);
    expect(JSON.parse(input!.body.toString())).toEqual(request);
    expect(input!.contentType).toBe('application/json');
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)[0].args[0].input).toEqual({
      EndpointName: 'sd-endpoint',
      InputLocation: `s3://jobs-bucket/inputs/${refOf(job.id)}.json`,
      InferenceId: refOf(job.id),
      ContentType: 'application/json',
      Accept: 'application/json',
      RequestTTLSeconds: 21600,
    });
    const item = table.get(`job#${refOf(job.id)}`) as any;
    expect(item.job).toMatchObject({ ref: refOf(job.id), status: 'queued', backend_ref: { output_location: 's3://jobs-bucket/outputs/1-uuid.out' } });
    expect(item.expires_at).toBe(Math.floor(Date.parse(job.created_at) / 1000) + 2 * 86400);
  });

  it('records the job before the endpoint is invoked, so a job that runs is never without a record', async () => {
    let recordedWhenInvoked: unknown;
    mocks.runtime.on(InvokeEndpointAsyncCommand).callsFake((input: { InferenceId: string }) => {
      recordedWhenInvoked = (table.get(`job#${input.InferenceId}`) as any)?.job?.status;
      return { OutputLocation: 's3://jobs-bucket/outputs/x.out' };
    });
    const { gateway } = awsGateway();
    expect((await gateway(postImages({ prompt: 'in order' }))).statusCode).toBe(202);
    expect(recordedWhenInvoked).toBe('queued');
  });

  it('accepts jobs while the endpoint has no instance: SageMaker keeps them queued', async () => {
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 0, DesiredInstanceCount: 0 }],
    } as never);
    const { gateway } = awsGateway();
    expect(body(await gateway(apiEvent({ method: 'GET', path: '/v1/status' }))).state).toBe('cold');
    const result = await gateway(postImages({ prompt: 'while cold' }));
    expect(result.statusCode).toBe(202);
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(1);
  });

  it('answers 503 backend_busy with Retry-After when InvokeEndpointAsync is throttled, and gives the quota back', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: { throttling: true } });
    mocks.runtime
      .on(InvokeEndpointAsyncCommand)
      .rejectsOnce(throttled)
      .resolves({ OutputLocation: 's3://jobs-bucket/outputs/retry.out' });
    const { gateway } = awsGateway({ QUOTA_PER_IP_PER_DAY: '1' });
    const refused = await gateway(postImages({ prompt: 'x' }));
    expect(refused.statusCode).toBe(503);
    expect(refused.headers!['Retry-After']).toBe('5');
    expect(body(refused).error).toMatchObject({ code: 'backend_busy', retry_after_seconds: 5 });
    conforms('POST', '/v1/images', refused);
    // The only image of today's quota was given back, so the retry is accepted.
    expect((await gateway(postImages({ prompt: 'x' }))).statusCode).toBe(202);
  });

  it('answers 503 backend_busy when DynamoDB throttles the quota counter', async () => {
    mocks.dynamo.on(UpdateCommand).rejects(Object.assign(new Error('Throughput exceeds'), { name: 'ProvisionedThroughputExceededException' }));
    const { gateway } = awsGateway();
    const result = await gateway(postImages({ prompt: 'x' }));
    expect(result.statusCode).toBe(503);
    expect(body(result).error.code).toBe('backend_busy');
    expect(mocks.runtime.commandCalls(InvokeEndpointAsyncCommand)).toHaveLength(0);
  });

  it('answers 500 with only a request id when S3 refuses the input, and logs the cause', async () => {
    mocks.s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const { gateway } = awsGateway({ LOG_LEVEL: 'DEBUG' });
    const { result, lines } = await captureStdout(() => gateway(postImages({ prompt: 'a secret prompt about cats' })));
    expect(result.statusCode).toBe(500);
    expect(body(result)).toEqual({
      error: { code: 'internal_error', message: expect.any(String), request_id: result.headers!['X-Request-Id'] },
    });
    expect(result.body).not.toMatch(/Access Denied/);
    conforms('POST', '/v1/images', result);
    expect(lines.some((line) => line.includes('Access Denied') && line.includes(String(result.headers!['X-Request-Id'])))).toBe(true);
    expect(lines.join('\n')).not.toContain('cats');
  });
});

describe('GET /v1/images/{id} on the SageMaker async backend', () => {
  async function submit(gateway: ReturnType<typeof awsGateway>['gateway'], request: object = { prompt: 'a red fox', num_images: 2 }) {
    const job = body(await gateway(postImages(request)));
    const item = table.get(`job#${refOf(job.id)}`) as any;
    return { id: job.id as string, output: item.job.backend_ref.output_location, failure: item.job.backend_ref.failure_location };
  }

  it('reports queued until the output appears, then stores each image and answers presigned URLs', async () => {
    const { gateway } = awsGateway();
    const { id, output } = await submit(gateway);
    const pending = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}`, layout: 'explicit' }));
    expect(pending.statusCode).toBe(200);
    expect(body(pending).status).toBe('queued');
    conforms('GET', '/v1/images/{id}', pending);

    putObject(output, JSON.stringify(await engineResponse(2, 64)));
    const done = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }));
    expect(done.statusCode).toBe(200);
    conforms('GET', '/v1/images/{id}', done);
    const job = body(done);
    expect(job).toMatchObject({
      status: 'succeeded',
      parameters: { prompt: 'a red fox', num_images: 2, steps: 25, guidance_scale: 7.5, width: 64, height: 64, scheduler: 'pndm' },
    });
    expect(job.completed_at).toEqual(expect.any(String));
    expect(job.images).toHaveLength(2);
    for (const [index, image] of job.images.entries()) {
      expect(image).toMatchObject({ width: 64, height: 64, seed: 1000 + index, format: 'png' });
      const url = new URL(image.url);
      expect(url.hostname).toBe('jobs-bucket.s3.us-east-1.amazonaws.com');
      expect(url.pathname).toBe(`/images/${refOf(id)}/${index}.png`);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      const stored = bucket.get(`jobs-bucket/images/${refOf(id)}/${index}.png`)!;
      expect(stored.contentType).toBe('image/png');
      expect(stored.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    }
    // Finished jobs are answered from the table; S3 is not read again.
    const reads = mocks.s3.commandCalls(GetObjectCommand).length;
    expect(body(await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }))).status).toBe('succeeded');
    expect(mocks.s3.commandCalls(GetObjectCommand)).toHaveLength(reads);
  });

  it('counts a completion once when several polls see the output at the same time', async () => {
    const { gateway } = awsGateway();
    const { id, output } = await submit(gateway);
    putObject(output, JSON.stringify(await engineResponse(2, 64)));
    const { result, lines } = await captureStdout(() =>
      Promise.all(Array.from({ length: 5 }, () => gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` })))),
    );
    expect(result.map((r) => body(r).status)).toEqual(Array(5).fill('succeeded'));
    const completions = lines.map((line) => JSON.parse(line)).filter((entry) => 'ImagesCompleted' in entry);
    expect(completions).toHaveLength(1);
    expect(completions[0]).toMatchObject({ ImagesCompleted: 2, GenerationSeconds: 1.5, Service: 'gateway' });
  });

  it('reports the engine error when the failure object appears', async () => {
    const { gateway } = awsGateway();
    const { id, failure } = await submit(gateway);
    putObject(failure, JSON.stringify({ error: { code: 'timeout', message: 'generation took longer than 600 s' } }));
    const result = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }));
    conforms('GET', '/v1/images/{id}', result);
    expect(body(result)).toMatchObject({ status: 'failed', error: { code: 'timeout', message: 'generation took longer than 600 s' } });
    expect(body(result).images).toBeUndefined();
  });

  it('shows a generic message for a failure body that is not ours', async () => {
    const { gateway } = awsGateway();
    const { id, failure } = await submit(gateway);
    putObject(failure, '<html>Internal Server Error at /opt/app/secret/path.js:12</html>');
    expect(body(await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }))).error).toEqual({
      code: 'generation_failed',
      message: 'the image could not be generated',
    });
  });

  it('fails the job, rather than every poll, when the output is not the engine JSON', async () => {
    const { gateway } = awsGateway();
    const { id, output } = await submit(gateway);
    putObject(output, '{"images":"nope"}');
    const result = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({ status: 'failed', error: { code: 'generation_failed' } });
  });

  it('answers 404 alike for tampered, unknown and malformed ids, without reading the table for forged ones', async () => {
    const { gateway } = awsGateway();
    const { id } = await submit(gateway);
    const tampered = id.slice(0, 10) + (id[10] === 'A' ? 'B' : 'A') + id.slice(11);
    const unknown = createJobId(SIGNING_KEY);
    mocks.dynamo.resetHistory();
    for (const candidate of [tampered, '../../etc/passwd', 'x', '%00']) {
      const result = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${encodeURIComponent(candidate)}` }));
      expect(result.statusCode).toBe(404);
      expect(body(result).error).toMatchObject({ code: 'not_found', message: 'no such job' });
      conforms('GET', '/v1/images/{id}', result);
    }
    expect(mocks.dynamo.calls()).toHaveLength(0);
    const missing = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${unknown}` }));
    expect(missing.statusCode).toBe(404);
    expect(body(missing).error.message).toBe('no such job');
  });

  it('answers 500 when S3 denies reading the output (a permissions bug must show, not look queued)', async () => {
    const { gateway } = awsGateway();
    const { id } = await submit(gateway);
    mocks.s3.on(GetObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const result = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }));
    expect(result.statusCode).toBe(500);
  });

  it('reports expired once results are past their retention', async () => {
    let now = new Date('2026-03-14T12:00:00Z');
    const { gateway } = awsGateway({}, () => now);
    const { id, output } = await submit(gateway);
    putObject(output, JSON.stringify(await engineResponse(1, 64)));
    expect(body(await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }))).status).toBe('succeeded');
    now = new Date('2026-03-15T12:00:01Z');
    const expired = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${id}` }));
    conforms('GET', '/v1/images/{id}', expired);
    expect(body(expired).status).toBe('expired');
    expect(body(expired).images).toBeUndefined();
  });
});

describe('secrets', () => {
  it('are fetched from Secrets Manager once per container, not per request', async () => {
    const { gateway } = awsGateway();
    for (let i = 0; i < 5; i++) await gateway(postImages({ prompt: `p${i}` }));
    expect(mocks.secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(mocks.secrets.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: expect.stringContaining('secret:gateway') });
  });

  it('a malformed secret gives 500 and never reaches the response or the log', async () => {
    mocks.secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ idSigningKey: 'short-KEY-VALUE' }) });
    const { gateway } = awsGateway({ LOG_LEVEL: 'DEBUG' });
    const { result, lines } = await captureStdout(() => gateway(postImages({ prompt: 'x' })));
    expect(result.statusCode).toBe(500);
    expect(result.body + lines.join('\n')).not.toContain('short-KEY-VALUE');
    expect(lines.join('\n')).toContain('idSigningKey must be a string of at least 32 characters');
  });

  it('a throttled Secrets Manager gives a 5xx in the error shape', async () => {
    mocks.secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const { gateway } = awsGateway();
    const result = await gateway(postImages({ prompt: 'x' }));
    expect(result.statusCode).toBeGreaterThanOrEqual(500);
    expect(body(result).error.request_id).toBe(result.headers!['X-Request-Id']);
  });
});

describe('GET /v1/status on SageMaker', () => {
  const describeEndpoint = (status: string, current: number, desired: number, lastModified = new Date()) =>
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: status,
      LastModifiedTime: lastModified,
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: current, DesiredInstanceCount: desired }],
    } as never);
  const backlog = (value: number | undefined) =>
    mocks.cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'backlog', Values: value === undefined ? [] : [value, 0] }] });

  it('is cold with the boot time in the estimate when scaled to zero', async () => {
    describeEndpoint('InService', 0, 0);
    backlog(undefined);
    const result = await awsGateway().gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    conforms('GET', '/v1/status', result);
    expect(body(result)).toMatchObject({ state: 'cold', instances: { current: 0, desired: 0 }, queue_depth: 0, estimated_wait_seconds: 308 });
    expect(body(result).message).toMatch(/switched off/);
  });

  it('is warming with the boot time already spent taken off', async () => {
    describeEndpoint('Updating', 0, 1, new Date(Date.now() - 100_000));
    backlog(2);
    const result = await awsGateway().gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(body(result)).toMatchObject({ state: 'warming', instances: { current: 0, desired: 1 }, queue_depth: 2, estimated_wait_seconds: 200 + 3 * 8 });
  });

  it('is warm with the queue shared by the instances, read from ApproximateBacklogSize', async () => {
    describeEndpoint('InService', 2, 2);
    backlog(5);
    const result = await awsGateway({ SECONDS_PER_IMAGE: '10' }).gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(body(result)).toMatchObject({ state: 'warm', instances: { current: 2, desired: 2 }, queue_depth: 5, estimated_wait_seconds: 30 });
    const query = mocks.cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries![0];
    expect(query.MetricStat!.Metric).toEqual({
      Namespace: 'AWS/SageMaker',
      MetricName: 'ApproximateBacklogSize',
      Dimensions: [{ Name: 'EndpointName', Value: 'sd-endpoint' }],
    });
  });

  it('still answers when CloudWatch fails, with queue 0', async () => {
    describeEndpoint('InService', 1, 1);
    mocks.cloudwatch.on(GetMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const result = await awsGateway().gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toMatchObject({ state: 'warm', queue_depth: 0 });
  });

  it('answers 503 status_unavailable when DescribeEndpoint is throttled and nothing is cached', async () => {
    mocks.sagemaker.on(DescribeEndpointCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    backlog(0);
    const result = await awsGateway().gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(result.statusCode).toBe(503);
    expect(result.headers!['Retry-After']).toBe('5');
    conforms('GET', '/v1/status', result);
  });

  it('asks SageMaker at most once per few seconds however many pages poll', async () => {
    describeEndpoint('InService', 1, 1);
    backlog(0);
    const { gateway } = awsGateway();
    await Promise.all(Array.from({ length: 20 }, () => gateway(apiEvent({ method: 'GET', path: '/v1/status' }))));
    expect(mocks.sagemaker.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
  });
});

describe('metrics and logs', () => {
  it('emit EMF with exactly the Service dimension, and Reason for rejections', async () => {
    const { gateway } = awsGateway({ QUOTA_PER_IP_PER_DAY: '2' });
    const { lines } = await captureStdout(async () => {
      await gateway(postImages({ prompt: 'one', num_images: 2 }));
      await gateway(postImages({ prompt: 'two' }));
      await gateway(postImages({ prompt: 3 }));
    });
    const emf = lines.map((line) => JSON.parse(line)).filter((entry) => entry._aws);
    for (const entry of emf) expect(entry._aws.CloudWatchMetrics[0].Namespace).toBe('ServerlessDiffusion');
    const accepted = emf.find((entry) => 'ImagesAccepted' in entry);
    expect(accepted._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Service']]);
    expect(accepted).toMatchObject({ Service: 'gateway', ImagesRequested: 2, ImagesAccepted: 2 });
    const rejections = emf.filter((entry) => 'ImagesRejected' in entry);
    expect(rejections.map((entry) => [entry.Reason, entry.ImagesRejected])).toEqual([
      ['quota_exceeded', 1],
      ['invalid_request', 1],
    ]);
    for (const entry of rejections) expect(entry._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Service', 'Reason']]);
    for (const entry of emf) expect(entry).not.toHaveProperty('service');
  });

  it('log one line per request without the prompt, even at DEBUG', async () => {
    const { gateway } = awsGateway({ LOG_LEVEL: 'DEBUG' });
    const prompt = 'zebra-unicorn-7f3a in a teacup';
    const { lines } = await captureStdout(async () => {
      const job = body(await gateway(postImages({ prompt, negative_prompt: 'blurry-9c2e' })));
      await gateway(apiEvent({ method: 'GET', path: `/v1/images/${job.id}` }));
      await gateway(postImages({ prompt, steps: 999 }));
    });
    const text = lines.join('\n');
    expect(text).not.toContain('zebra-unicorn');
    expect(text).not.toContain('blurry-9c2e');
    const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.message === 'request');
    expect(requests.map((entry) => [entry.route, entry.status])).toEqual([
      ['POST /v1/images', 202],
      ['GET /v1/images/{id}', 200],
      ['POST /v1/images', 400],
    ]);
  });
});

describe('CORS', () => {
  it('lets the configured origin read responses and no other', async () => {
    const { gateway } = awsGateway();
    const allowed = await gateway(postImages({ prompt: 'x' }, { Origin: SITE_ORIGIN }));
    expect(allowed.headers!['Access-Control-Allow-Origin']).toBe(SITE_ORIGIN);
    expect(allowed.headers!.Vary).toBe('Origin');
    const other = await gateway(postImages({ prompt: 'x' }, { Origin: 'https://evil.example.net' }));
    expect(other.headers!['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('answers preflights for the configured origin only, in the error shape otherwise', async () => {
    const { gateway } = awsGateway();
    const preflight = (origin: string) =>
      gateway(apiEvent({ method: 'OPTIONS', path: '/v1/images', headers: { origin, 'access-control-request-method': 'POST' } }));
    const ok = await preflight(SITE_ORIGIN);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers).toMatchObject({
      'Access-Control-Allow-Origin': SITE_ORIGIN,
      'Access-Control-Allow-Methods': 'DELETE,GET,POST,OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type',
    });
    const refused = await preflight('https://evil.example.net');
    expect(refused.statusCode).toBe(403);
    expect(body(refused).error.code).toBe('origin_not_allowed');
    expect(refused.headers!['Access-Control-Allow-Origin']).toBeUndefined();
  });
});

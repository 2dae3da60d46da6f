import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, ModelError, ModelNotReadyException } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../contract/openapi';
import { awsGateway, bucket, mocks, resetAws, SIGNING_KEY, refOf } from './support/aws-fakes';
import { engineResponse } from './support/engine-output';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';

const validate = openApiResponseValidator(openApiDocument());
const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);
const conforms = (method: string, template: string, result: APIGatewayProxyResult) =>
  expect(validate(method, template, result.statusCode, body(result))).toEqual([]);

beforeEach(() => resetAws());

describe('SageMaker real-time / serverless backend', () => {
  const env = { BACKEND_MODE: 'serverless' };

  it('invokes synchronously and answers the finished job with its images', async () => {
    const engine = await engineResponse(1, 64);
    mocks.runtime.on(InvokeEndpointCommand).resolves({ Body: Buffer.from(JSON.stringify(engine)) as never, ContentType: 'application/json' });
    const { gateway } = awsGateway(env);
    const result = await gateway(postImages({ prompt: 'a small house', width: 64, height: 64 }));
    expect(result.statusCode).toBe(202);
    conforms('POST', '/v1/images', result);
    const job = body(result);
    expect(job).toMatchObject({ status: 'succeeded', images: [{ width: 64, height: 64, format: 'png', seed: 1000 }] });
    expect(job.started_at).toEqual(expect.any(String));
    const call = mocks.runtime.commandCalls(InvokeEndpointCommand)[0].args[0].input;
    expect(call).toMatchObject({ EndpointName: 'sd-endpoint', ContentType: 'application/json', Accept: 'application/json', InferenceId: refOf(job.id) });
    expect(JSON.parse(String(call.Body))).toEqual({ prompt: 'a small house', width: 64, height: 64 });
    expect(bucket.has(`jobs-bucket/images/${refOf(job.id)}/0.png`)).toBe(true);
    const polled = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${job.id}` }));
    expect(body(polled).status).toBe('succeeded');
    expect(mocks.runtime.commandCalls(InvokeEndpointCommand)).toHaveLength(1);
  });

  it('passes the engine 400 on as invalid_request naming the field, and returns the quota', async () => {
    mocks.runtime.on(InvokeEndpointCommand).rejectsOnce(
      new ModelError({
        message: 'Received client error (400)',
        $metadata: {},
        OriginalStatusCode: 400,
        OriginalMessage: JSON.stringify({ error: { code: 'invalid_request', message: 'width must be at most 512 for this model', field: 'width' } }),
      }),
    );
    const { gateway } = awsGateway({ ...env, QUOTA_PER_IP_PER_DAY: '1' });
    const result = await gateway(postImages({ prompt: 'x', width: 768 }));
    expect(result.statusCode).toBe(400);
    expect(body(result).error).toMatchObject({ code: 'invalid_request', field: 'width', message: 'width must be at most 512 for this model' });
    conforms('POST', '/v1/images', result);
    mocks.runtime.on(InvokeEndpointCommand).resolves({ Body: Buffer.from(JSON.stringify(await engineResponse())) as never });
    expect((await gateway(postImages({ prompt: 'x' }))).statusCode).toBe(202);
  });

  it.each([
    ['engine queue full (429)', new ModelError({ message: 'busy', $metadata: {}, OriginalStatusCode: 429, OriginalMessage: '{}' })],
    ['engine loading (503)', new ModelError({ message: 'busy', $metadata: {}, OriginalStatusCode: 503, OriginalMessage: '{}' })],
    ['endpoint not ready', new ModelNotReadyException({ message: 'not ready', $metadata: {} })],
    ['throttled', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })],
  ])('answers 503 backend_busy with Retry-After when %s', async (_case, error) => {
    mocks.runtime.on(InvokeEndpointCommand).rejects(error);
    const result = await awsGateway(env).gateway(postImages({ prompt: 'x' }));
    expect(result.statusCode).toBe(503);
    expect(result.headers!['Retry-After']).toBe('5');
    expect(body(result).error.code).toBe('backend_busy');
  });

  it('records a failed job when the engine fails the generation', async () => {
    mocks.runtime.on(InvokeEndpointCommand).rejects(
      new ModelError({
        message: 'Received server error (504)',
        $metadata: {},
        OriginalStatusCode: 504,
        OriginalMessage: JSON.stringify({ error: { code: 'timeout', message: 'generation timed out' } }),
      }),
    );
    const result = await awsGateway(env).gateway(postImages({ prompt: 'x' }));
    expect(result.statusCode).toBe(202);
    conforms('POST', '/v1/images', result);
    expect(body(result)).toMatchObject({ status: 'failed', error: { code: 'timeout', message: 'generation timed out' } });
  });

  it('reads a serverless endpoint as warm while it is in service, without a queue metric', async () => {
    mocks.sagemaker.on(DescribeEndpointCommand).resolves({
      EndpointName: 'sd-endpoint',
      EndpointStatus: 'InService',
      ProductionVariants: [{ VariantName: 'AllTraffic', CurrentServerlessConfig: { MemorySizeInMB: 6144, MaxConcurrency: 2 } }],
    } as never);
    const result = await awsGateway(env).gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(body(result)).toMatchObject({ state: 'warm', queue_depth: 0 });
    expect(mocks.cloudwatch.calls()).toHaveLength(0);
  });
});

describe('external HTTP GPU provider', () => {
  let server: Server;
  let baseUrl: string;
  const seen: Array<{ method?: string; url?: string; authorization?: string; body: string }> = [];
  let answer: (request: IncomingMessage) => Promise<{ status: number; body: string }>;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        seen.push({ method: request.method, url: request.url, authorization: request.headers.authorization, body: Buffer.concat(chunks).toString() });
        const { status, body: text } = await answer(request);
        response.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/provider/sd`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));
  beforeEach(() => {
    seen.length = 0;
    mocks.secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ idSigningKey: SIGNING_KEY, externalApiKey: 'provider-key-123' }) });
  });

  const external = () => awsGateway({ BACKEND_MODE: 'external', EXTERNAL_URL: baseUrl, ENDPOINT_NAME: '' });

  it('posts the request to <url>/invocations with the key from the secret and stores the images', async () => {
    const engine = await engineResponse(2, 64);
    answer = async () => ({ status: 200, body: JSON.stringify(engine) });
    const result = await external().gateway(postImages({ prompt: 'a boat', num_images: 2 }));
    expect(result.statusCode).toBe(202);
    conforms('POST', '/v1/images', result);
    expect(body(result).images).toHaveLength(2);
    expect(seen).toEqual([
      { method: 'POST', url: '/provider/sd/invocations', authorization: 'Bearer provider-key-123', body: JSON.stringify({ prompt: 'a boat', num_images: 2 }) },
    ]);
  });

  it('answers 503 when the provider is busy or unreachable', async () => {
    answer = async () => ({ status: 429, body: JSON.stringify({ error: { code: 'queue_full', message: 'full' } }) });
    expect((await external().gateway(postImages({ prompt: 'x' }))).statusCode).toBe(503);
    const unreachable = awsGateway({ BACKEND_MODE: 'external', EXTERNAL_URL: 'http://127.0.0.1:9/sd', ENDPOINT_NAME: '' });
    const result = await unreachable.gateway(postImages({ prompt: 'x' }));
    expect(result.statusCode).toBe(503);
    expect(body(result).error.code).toBe('backend_busy');
  });

  it('reports status from the provider /ping', async () => {
    answer = async (request) => ({ status: request.url?.endsWith('/ping') ? 503 : 404, body: '{}' });
    const result = await external().gateway(apiEvent({ method: 'GET', path: '/v1/status' }));
    expect(body(result)).toMatchObject({ state: 'warming' });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/provider/sd/ping', authorization: 'Bearer provider-key-123' });
  });
});

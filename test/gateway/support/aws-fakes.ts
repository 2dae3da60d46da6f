import { Readable } from 'node:stream';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients, createAwsDependencies } from '../../../lambda/src/aws-dependencies';
import { readAwsResourcesConfig, readGatewayConfig, type Environment } from '../../../lambda/src/config';
import type { GatewayDependencies } from '../../../lambda/src/dependencies';
import { systemClock } from '../../../lambda/src/clock';
import { createGateway } from '../../../lambda/src/gateway';
import { GatewayMetrics } from '../../../lambda/src/metrics';
import { jobReference } from '../../../lambda/src/jobs/job-id';

// The SDK needs a region and credentials to build (and presign) requests; nothing is sent.
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

export const SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789';
/** The reference storage, logs and backends know a job by, under the test key. */
export const refOf = (id: string) => jobReference(id, SIGNING_KEY);
export const SITE_ORIGIN = 'https://site.example.com';

export const BASE_ENV: Environment = {
  BACKEND_MODE: 'async',
  ENDPOINT_NAME: 'sd-endpoint',
  JOBS_BUCKET: 'jobs-bucket',
  QUOTAS_AND_JOBS_TABLE: 'gateway-table',
  SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gateway-AbCdEf',
  ALLOWED_ORIGINS: SITE_ORIGIN,
  QUOTA_PER_IP_PER_DAY: '10',
  QUOTA_GLOBAL_PER_DAY: '100',
  POWERTOOLS_SERVICE_NAME: 'gateway',
  POWERTOOLS_METRICS_NAMESPACE: 'ServerlessDiffusion',
};

export const mocks = {
  s3: mockClient(S3Client),
  dynamo: mockClient(DynamoDBDocumentClient),
  sagemaker: mockClient(SageMakerClient),
  runtime: mockClient(SageMakerRuntimeClient),
  cloudwatch: mockClient(CloudWatchClient),
  secrets: mockClient(SecretsManagerClient),
  lambda: mockClient(LambdaClient),
};

/** S3 as a map: what the gateway wrote can be read back, and a missing key is NoSuchKey. */
export const bucket = new Map<string, { body: Buffer; contentType?: string }>();
/** The DynamoDB table as a map from `pk` to item, with the conditions the gateway uses. */
export const table = new Map<string, Record<string, unknown>>();

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

export function s3Body(text: string | Buffer) {
  return sdkStreamMixin(Readable.from([Buffer.from(text)]));
}

/** Puts an object into the fake bucket, as SageMaker would write an async result. */
export function putObject(uri: string, body: string | Buffer): void {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(uri);
  bucket.set(`${match[1]}/${match[2]}`, { body: Buffer.from(body) });
}

/** Resets every mock to a working, empty AWS. */
export function resetAws(): void {
  bucket.clear();
  table.clear();
  for (const mock of Object.values(mocks)) mock.reset();
  mocks.secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ idSigningKey: SIGNING_KEY }) });
  mocks.lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  mocks.s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    const body = input.Body;
    bucket.set(`${input.Bucket}/${input.Key}`, {
      body: typeof body === 'string' ? Buffer.from(body) : Buffer.from(body as Uint8Array),
      contentType: input.ContentType,
    });
    return {};
  });
  mocks.s3.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
    const object = bucket.get(`${input.Bucket}/${input.Key}`);
    if (!object) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
    return { Body: s3Body(object.body), ContentType: object.contentType };
  });
  let invocation = 0;
  mocks.runtime.on(InvokeEndpointAsyncCommand).callsFake(async () => {
    invocation += 1;
    return {
      OutputLocation: `s3://jobs-bucket/outputs/${invocation}-uuid.out`,
      FailureLocation: `s3://jobs-bucket/failures/${invocation}-uuid-error.out`,
    };
  });
  mocks.dynamo.on(GetCommand).callsFake(async (input: { Key: { pk: string } }) => ({ Item: table.get(input.Key.pk) }));
  mocks.dynamo.on(PutCommand).callsFake(async (input: PutCommandInput) => {
    const item = input.Item as Record<string, unknown> & { pk: string };
    const existing = table.get(item.pk) as { job?: { status?: string } } | undefined;
    if (input.ConditionExpression === 'attribute_not_exists(#pk)' && existing) throw conditionFailed();
    if (input.ConditionExpression === '#job.#status = :from' && existing?.job?.status !== input.ExpressionAttributeValues?.[':from']) {
      throw conditionFailed();
    }
    // The GPU-time ledger's optimistic lock.
    if (input.ConditionExpression === '#version = :expected' && (existing as { version?: number } | undefined)?.version !== input.ExpressionAttributeValues?.[':expected']) {
      throw conditionFailed();
    }
    // The warm-up lease: free when absent or expired.
    if (input.ConditionExpression === 'attribute_not_exists(#pk) OR #expires < :now' && existing && Number((existing as { expires_at?: number }).expires_at) >= Number(input.ExpressionAttributeValues?.[':now'])) {
      throw conditionFailed();
    }
    table.set(item.pk, structuredClone(item));
    return {};
  });
  mocks.dynamo.on(DeleteCommand).callsFake(async (input: { Key: { pk: string } }) => {
    table.delete(input.Key.pk);
    return {};
  });
  mocks.dynamo.on(UpdateCommand).callsFake(async (input: { Key: { pk: string }; ConditionExpression?: string; ExpressionAttributeValues: Record<string, number> }) => {
    const item = table.get(input.Key.pk) as { count?: number } | undefined;
    const values = input.ExpressionAttributeValues;
    if (input.ConditionExpression?.startsWith('attribute_not_exists(#count)') && item?.count !== undefined && item.count > values[':ceiling']) {
      throw conditionFailed();
    }
    if (input.ConditionExpression === 'attribute_exists(#count)' && item?.count === undefined) throw conditionFailed();
    table.set(input.Key.pk, { ...item, pk: input.Key.pk, count: (item?.count ?? 0) + values[':amount'] });
    return {};
  });
}

export interface TestGateway {
  readonly gateway: ReturnType<typeof createGateway>;
  readonly deps: GatewayDependencies;
}

/** The gateway exactly as the Lambda assembles it, over mocked AWS clients. */
export function awsGateway(env: Environment = {}, now?: () => Date): TestGateway {
  const merged = { ...BASE_ENV, ...env };
  const config = readGatewayConfig(merged);
  const resources = readAwsResourcesConfig(merged);
  // Silent unless a test asks for logs (and captures them): they would drown the test report.
  const logger = new Logger({ serviceName: 'gateway', logLevel: (merged.LOG_LEVEL ?? 'SILENT') as 'SILENT' });
  // Built as the handler builds it, with the test's clock as the one clock of every part.
  const deps = createAwsDependencies(config, resources, createAwsClients(), logger, new GatewayMetrics(), now ?? systemClock);
  return { gateway: createGateway(deps), deps };
}

/** Collects what the process writes (Powertools logs and EMF; errors go to stderr) while `run` runs. */
export async function captureStdout<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter((line) => line.length > 0));
      return true;
    }) as typeof stream.write;
  }
  try {
    return { result: await run(), lines };
  } finally {
    streams.forEach((stream, index) => {
      stream.write = originals[index];
    });
  }
}

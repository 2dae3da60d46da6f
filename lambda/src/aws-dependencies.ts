import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { GenerationBackend } from './backends/backend';
import { EngineHttpClient } from './backends/engine-http-client';
import { ExternalHttpBackend } from './backends/external-http-backend';
import { LambdaEngineBackend } from './backends/lambda-engine-backend';
import { SageMakerAsyncBackend } from './backends/sagemaker-async-backend';
import { SageMakerServerlessBackend } from './backends/sagemaker-serverless-backend';
import { type Clock } from './clock';
import type { AwsResourcesConfig, GatewayConfig } from './config';
import { DynamoDbWarmUpLock } from './warmup/warmup-lock';
import type { GatewayDependencies } from './dependencies';
import { S3ImageStore } from './images/s3-image-store';
import { DynamoDbJobStore } from './jobs/dynamodb-job-store';
import type { GatewayMetrics } from './metrics';
import { DynamoDbCounterStore } from './quota/dynamodb-counter-store';
import { clientKey, QuotaGuard } from './quota/quota-guard';
import { RateLimiter } from './quota/rate-limiter';
import { secretsManagerSource, type SecretsSource } from './secrets';
import { DynamoDbGpuLedger } from './spend/dynamodb-gpu-ledger';
import { GpuTimeGuard } from './spend/gpu-time-guard';
import { LambdaFunctionProbe } from './status/lambda-function-probe';
import { SageMakerEndpointProbe } from './status/sagemaker-endpoint-probe';
import { StatusCache } from './status/status-cache';

/** The SDK clients the gateway uses; tests mock them with aws-sdk-client-mock. */
export interface AwsClients {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
  readonly sagemaker: SageMakerClient;
  readonly runtime: SageMakerRuntimeClient;
  readonly cloudwatch: CloudWatchClient;
  readonly secretsManager: SecretsManagerClient;
  readonly lambda: LambdaClient;
}

export function createAwsClients(): AwsClients {
  return {
    s3: new S3Client({}),
    // Optional fields of a job are left out rather than stored as NULL.
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
    sagemaker: new SageMakerClient({}),
    runtime: new SageMakerRuntimeClient({}),
    cloudwatch: new CloudWatchClient({}),
    secretsManager: new SecretsManagerClient({}),
    lambda: new LambdaClient({}),
  };
}

function createBackend(
  resources: AwsResourcesConfig,
  clients: AwsClients,
  images: S3ImageStore,
  secrets: SecretsSource,
  logger: Logger,
  now: Clock,
): GenerationBackend {
  switch (resources.backendMode) {
    case 'async': {
      const probe = new SageMakerEndpointProbe({
        sagemaker: clients.sagemaker,
        cloudwatch: clients.cloudwatch,
        endpointName: resources.endpointName!,
        logger,
        now,
      });
      return new SageMakerAsyncBackend({
        s3: clients.s3,
        runtime: clients.runtime,
        images,
        endpointName: resources.endpointName!,
        bucket: resources.jobsBucket,
        inputPrefix: resources.inputPrefix,
        warmOnVisit: resources.warmOnVisit,
        status: () => probe.status(),
        logger,
        now,
      });
    }
    case 'serverless': {
      const probe = new SageMakerEndpointProbe({ sagemaker: clients.sagemaker, endpointName: resources.endpointName!, logger, now });
      return new SageMakerServerlessBackend({
        runtime: clients.runtime,
        images,
        endpointName: resources.endpointName!,
        status: () => probe.status(),
        now,
      });
    }
    case 'lambda': {
      const engine = resources.engineFunction!;
      const probe = new LambdaFunctionProbe({ cloudwatch: clients.cloudwatch, functionName: engine.name, now });
      return new LambdaEngineBackend({
        s3: clients.s3,
        lambda: clients.lambda,
        images,
        functionName: engine.name,
        bucket: resources.jobsBucket,
        inputPrefix: resources.inputPrefix,
        outputPrefix: resources.outputPrefix,
        failurePrefix: engine.failurePrefix,
        functionTimeoutSeconds: engine.timeoutSeconds,
        status: () => probe.status(),
        logger,
        now,
      });
    }
    case 'external':
      return new ExternalHttpBackend({
        client: new EngineHttpClient({
          baseUrl: resources.externalUrl!,
          apiKey: async () => (await secrets()).externalApiKey,
        }),
        images,
        now,
      });
  }
}

/** Wires the gateway to AWS: DynamoDB for quotas and jobs, S3 for images, Secrets Manager. */
export function createAwsDependencies(
  config: GatewayConfig,
  resources: AwsResourcesConfig,
  clients: AwsClients,
  logger: Logger,
  metrics: GatewayMetrics,
  now: Clock,
): GatewayDependencies {
  const secrets = secretsManagerSource(new SecretsProvider({ awsSdkV3Client: clients.secretsManager }), resources.secretArn);
  const images = new S3ImageStore(clients.s3, resources.jobsBucket, resources.imagePrefix, now);
  const backend = createBackend(resources, clients, images, secrets, logger, now);
  const counters = new DynamoDbCounterStore(clients.dynamo, resources.quotasAndJobsTable);
  const status = new StatusCache(() => backend.status(), { now });
  const { rateLimit, gpuBudget } = config;
  return {
    config,
    backend,
    jobs: new DynamoDbJobStore(clients.dynamo, resources.quotasAndJobsTable),
    images,
    quota: new QuotaGuard(counters, {
      perIpPerDay: config.quotaPerIpPerDay,
      globalPerDay: config.quotaGlobalPerDay,
    }),
    ...(rateLimit
      ? { rateLimit: new RateLimiter(counters, rateLimit, async (ip) => clientKey(ip, (await secrets()).idSigningKey)) }
      : {}),
    ...(gpuBudget
      ? {
          gpuTime: new GpuTimeGuard(
            new DynamoDbGpuLedger(clients.dynamo, resources.quotasAndJobsTable),
            {
              minutesPerDay: gpuBudget.minutesPerDay,
              idleSeconds: gpuBudget.idleSeconds,
              coldStartSeconds: config.coldStartSeconds,
              secondsPerImage: config.secondsPerImage,
            },
            async () => {
              try {
                return (await status.get()).state;
              } catch (error) {
                logger.warn('backend state unavailable; the wake-up guard counts the GPU as asleep', { error: error as Error });
                throw error;
              }
            },
          ),
        }
      : {}),
    warmUpLock: new DynamoDbWarmUpLock(clients.dynamo, resources.quotasAndJobsTable),
    secrets,
    status,
    logger,
    metrics,
    now,
  };
}

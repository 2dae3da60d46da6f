import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ModelInfo } from '../../contract/model-info';
import { GATEWAY_BUNDLING } from '../../lambda/bundling';
import { GATEWAY_ENVIRONMENT as ENV } from '../../lambda/facts/environment';
import { METRICS_NAMESPACE } from '../../lambda/facts/metrics';
import { acknowledgeWildcardResources } from '../nag/wildcards';
import { PATHS } from '../paths';
import { JOB_PREFIXES } from './jobs-bucket';
import { NodeFunction } from './node-function';

/** Memory of the gateway function; the cost estimate reads it too. */
export const GATEWAY_MEMORY_MB = 512;

/** How the gateway reaches the engine (the Lambda contract's BACKEND_MODE values used in AWS). */
export type GatewayBackend =
  | { readonly mode: 'async' | 'serverless'; readonly endpointName: string }
  | { readonly mode: 'external'; readonly externalUrl: string }
  | GatewayLambdaEngine;

/** The engine as a Lambda function, invoked asynchronously. */
export interface GatewayLambdaEngine {
  readonly mode: 'lambda';
  /** By name, so the gateway stack needs no reference to the backend stack. */
  readonly functionName: string;
  /** The function's timeout: a job running longer than this without an answer is failed. */
  readonly timeoutSeconds: number;
}

export interface GatewayFunctionProps {
  readonly backend: GatewayBackend;
  readonly jobsBucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly secret: secretsmanager.ISecret;
  /** Browser origins allowed by CORS; at least the site's own. */
  readonly allowedOrigins: readonly string[];
  readonly quotaPerIpPerDay: number;
  readonly quotaGlobalPerDay: number;
  /** Seconds from zero instances to a ready engine, for the page's wait estimate. */
  readonly coldStartSeconds: number;
  readonly secondsPerImage: number;
  /**
   * The deployed model's defaults and abilities, passed on in `/v1/status`.
   * @default - unknown (the external engine reports its own; otherwise the page uses the API's defaults)
   */
  readonly modelInfo?: ModelInfo;
  /**
   * The gateway's own per-address rate limit, for a deployment without WAF.
   * @default - none (WAF limits the rate)
   */
  readonly rateLimit?: GatewayRateLimit;
  /**
   * The wake-up guard's daily GPU budget, for a GPU that sleeps (async).
   * @default - none
   */
  readonly gpuBudget?: GatewayGpuBudget;
  /** `backend.warmOnVisit`: in async mode, a visit's warm-up wakes the GPU. @default false */
  readonly warmOnVisit?: boolean;
  /** @default 'INFO' */
  readonly logLevel?: string;
}

export interface GatewayRateLimit {
  readonly perIp: number;
  readonly createImagePerIp: number;
  readonly windowSeconds: number;
  /** Never counted (the allow list). */
  readonly exemptCidrs: readonly string[];
}

export interface GatewayGpuBudget {
  readonly minutesPerDay: number;
  /** Billed after the queue empties: the idle period before scale-in and the scale-in lag. */
  readonly idleSeconds: number;
}

/**
 * The gateway Lambda from `lambda/src/handler.ts` with the Lambda contract's environment and a role
 * that reaches exactly this endpoint (or engine function), this bucket's job prefixes (each with
 * only the actions the gateway takes on it), this table
 * and this secret.
 */
export class GatewayFunction extends Construct {
  public readonly function: lambda.IFunction;
  public readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    if (props.allowedOrigins.length === 0) throw new Error('allowedOrigins must list at least the site origin');
    const { backend } = props;
    const node = new NodeFunction(this, 'Handler', {
      entry: PATHS.gatewayHandler,
      description: 'serverless-diffusion public API',
      memorySize: GATEWAY_MEMORY_MB,
      // API Gateway gives up on an integration after 29 s; running longer would bill for nothing.
      timeout: Duration.seconds(29),
      bundling: GATEWAY_BUNDLING,
      environment: {
        [ENV.backendMode]: backend.mode,
        [ENV.endpointName]: backend.mode === 'async' || backend.mode === 'serverless' ? backend.endpointName : '',
        [ENV.externalUrl]: backend.mode === 'external' ? backend.externalUrl : '',
        ...(backend.mode === 'async' && props.warmOnVisit ? { [ENV.warmOnVisit]: 'true' } : {}),
        [ENV.jobsBucket]: props.jobsBucket.bucketName,
        [ENV.jobsPrefixInput]: JOB_PREFIXES.input,
        [ENV.jobsPrefixOutput]: JOB_PREFIXES.output,
        [ENV.jobsPrefixImage]: JOB_PREFIXES.image,
        ...(backend.mode === 'lambda'
          ? {
              [ENV.engineFunctionName]: backend.functionName,
              [ENV.engineTimeoutSeconds]: String(backend.timeoutSeconds),
              [ENV.jobsPrefixFailure]: JOB_PREFIXES.failure,
            }
          : {}),
        ...(props.modelInfo ? { [ENV.modelInfo]: JSON.stringify(props.modelInfo) } : {}),
        [ENV.quotasAndJobsTable]: props.table.tableName,
        [ENV.secretArn]: props.secret.secretArn,
        [ENV.allowedOrigins]: props.allowedOrigins.join(','),
        [ENV.quotaPerIpPerDay]: String(props.quotaPerIpPerDay),
        [ENV.quotaGlobalPerDay]: String(props.quotaGlobalPerDay),
        [ENV.coldStartSeconds]: String(props.coldStartSeconds),
        [ENV.secondsPerImage]: String(props.secondsPerImage),
        ...(props.rateLimit
          ? {
              [ENV.rateLimitPerIp]: String(props.rateLimit.perIp),
              [ENV.rateLimitCreateImagePerIp]: String(props.rateLimit.createImagePerIp),
              [ENV.rateLimitWindowSeconds]: String(props.rateLimit.windowSeconds),
              [ENV.rateLimitExemptCidrs]: props.rateLimit.exemptCidrs.join(','),
            }
          : {}),
        ...(props.gpuBudget
          ? {
              [ENV.gpuMinutesPerDay]: String(props.gpuBudget.minutesPerDay),
              [ENV.gpuIdleSeconds]: String(props.gpuBudget.idleSeconds),
            }
          : {}),
        POWERTOOLS_SERVICE_NAME: 'gateway',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: props.logLevel ?? 'INFO',
      },
    });
    this.function = node.function;
    this.role = node.role;

    this.grantJobObjects(node.role, props.jobsBucket, backend.mode);
    node.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // DeleteItem: the warm-up lease is given back when a warm-up could not start.
        actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.table.tableArn],
      }),
    );
    props.secret.grantRead(node.role);
    if (backend.mode === 'async' || backend.mode === 'serverless') this.grantEndpoint(node.role, backend.mode, backend.endpointName);
    if (backend.mode === 'lambda') this.grantEngineFunction(node.role, backend.functionName);
  }

  /**
   * Each prefix with only the actions the gateway takes on it in this mode: it writes requests (and,
   * for the engine function, cancel markers) but never reads them back, so it cannot list everyone's
   * prompts; it reads the engine's results and failures but never writes them; it writes and
   * presigns its own images. Serverless and external engines answer in the response, so those modes
   * touch the images only.
   */
  private grantJobObjects(role: iam.Role, bucket: s3.IBucket, mode: GatewayBackend['mode']): void {
    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}*`);
    const queued = mode === 'async' || mode === 'lambda';
    const grants: { readonly actions: string[]; readonly prefixes: string[] }[] = [
      { actions: ['s3:GetObject', 's3:PutObject'], prefixes: [JOB_PREFIXES.image] },
      ...(queued
        ? [
            { actions: ['s3:PutObject'], prefixes: [JOB_PREFIXES.input] },
            { actions: ['s3:GetObject'], prefixes: [JOB_PREFIXES.output, JOB_PREFIXES.failure] },
          ]
        : []),
    ];
    for (const grant of grants) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: grant.actions, resources: grant.prefixes.map(objects) }));
    }
    if (queued) {
      // Without ListBucket, S3 answers a missing key with 403 instead of 404, and the gateway could
      // not tell "not finished yet" from "forbidden" when it polls for a result.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [JOB_PREFIXES.output, JOB_PREFIXES.failure].map((prefix) => `${prefix}*`) } },
        }),
      );
    }
    acknowledgeWildcardResources(
      role,
      grants.flatMap((grant) => grant.prefixes.map(objects)),
      'Job objects have generated keys; each grant is limited to one action set on the job prefixes this mode uses.',
    );
  }

  private grantEndpoint(role: iam.Role, mode: 'async' | 'serverless', endpointName: string): void {
    const endpointArn = Arn.format(
      { service: 'sagemaker', resource: 'endpoint', resourceName: endpointName },
      Stack.of(this),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [mode === 'async' ? 'sagemaker:InvokeEndpointAsync' : 'sagemaker:InvokeEndpoint', 'sagemaker:DescribeEndpoint'],
        resources: [endpointArn],
      }),
    );
    if (mode === 'async') this.grantMetricReads(role, 'the endpoint queue depth');
  }

  /** Asynchronous Invoke of the one engine function; its status comes from its Lambda metrics. */
  private grantEngineFunction(role: iam.Role, functionName: string): void {
    const functionArn = Arn.format(
      { service: 'lambda', resource: 'function', resourceName: functionName, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
      Stack.of(this),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [functionArn] }));
    this.grantMetricReads(role, "the engine function's invocations, queued events and concurrency");
  }

  private grantMetricReads(role: iam.Role, what: string): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `cloudwatch:GetMetricData supports no resource-level permissions; the gateway reads ${what} for /v1/status.`,
    });
  }
}

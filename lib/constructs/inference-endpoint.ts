import { ENGINE_THREADS_ENV } from '../../contract/engine-threads';
import { DEFAULT_SAFETY_CHECKER, SAFETY_CHECKER_ENV, type SafetyCheckerSetting } from '../../contract/safety';
import { Arn, ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { DecoderChoice } from '../../contract/decoder';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { describeGpuHostFamilies, GPU_HOST, gpuHostSupports } from '../config/gpu-host';
import { acknowledgeWildcardResources } from '../nag/wildcards';
import { PATHS } from '../paths';
import { ModelData } from './model-data';

/** A GPU instance variant that takes requests from S3 and writes results back (async inference). */
export interface AsyncVariant {
  readonly kind: 'async';
  readonly instanceType: string;
  readonly jobsBucket: s3.IBucket;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly failurePrefix: string;
}

/** A CPU serverless variant, billed per request duration. */
export interface ServerlessVariant {
  readonly kind: 'serverless';
  readonly memorySizeMb: number;
  readonly maxConcurrency: number;
}

export interface InferenceEndpointProps {
  /** Fixed name, so that other stacks can address the endpoint without a reference. */
  readonly endpointName: string;
  readonly modelData: ModelData;
  readonly variant: AsyncVariant | ServerlessVariant;
  /** Engine log level. @default 'INFO' */
  readonly logLevel?: string;
  /** The engine's SAFETY_CHECKER: the model's own checker, or none. @default 'model' */
  readonly safetyChecker?: SafetyCheckerSetting;
  /** The engine's ENGINE_THREADS. @default - every CPU the host gives */
  readonly engineThreads?: number;
  /**
   * Which VAE decoder makes the images (`backend.decoder`); `auto` takes the model's tiny VAE on a
   * CPU, the full one on a GPU. @default 'auto'
   */
  readonly decoder?: DecoderChoice;
}

/** Name of the single production variant; scaling addresses it by this name. */
export const VARIANT_NAME = 'AllTraffic';

/**
 * Startup limits sized for Stable Diffusion: pulling a CUDA image and copying ~2 GB of ONNX
 * weights takes minutes, and creating the onnxruntime sessions on the GPU takes more.
 */
const MODEL_DATA_DOWNLOAD_TIMEOUT_SECONDS = 900;
const CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT_SECONDS = 600;
/** SageMaker's engine container picks one request at a time; the engine is built for that. */
const MAX_CONCURRENT_INVOCATIONS_PER_INSTANCE = 1;
/** Serverless invocations end at 60 s; the engine should answer (with its own timeout error) first. */
const SERVERLESS_REQUEST_TIMEOUT_MS = 55_000;

/** The engine image from `container/`, its SageMaker Model, endpoint configuration and endpoint. */
export class InferenceEndpoint extends Construct {
  public readonly endpoint: sagemaker.CfnEndpoint;
  public readonly endpointName: string;
  public readonly role: iam.Role;
  /**
   * Async only: SageMaker publishes here when an inference fails; the failure alarm counts its
   * messages. No success topic: the gateway polls the output location, so nothing would consume one.
   */
  public readonly errorTopic?: sns.Topic;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    const { variant } = props;
    if (variant.kind === 'async' && !gpuHostSupports(variant.instanceType)) {
      throw new Error(
        `instanceType ${variant.instanceType} is not one the host image ${GPU_HOST.inferenceAmiVersion} supports (${describeGpuHostFamilies()})`,
      );
    }
    this.endpointName = props.endpointName;
    const image = new ecrAssets.DockerImageAsset(this, 'Image', {
      // The repository root, trimmed by its .dockerignore: the image includes the public contract.
      directory: PATHS.engineImage.context,
      file: PATHS.engineImage.dockerfile,
      target: PATHS.engineImage.sagemakerTarget,
      // SageMaker GPU and CPU instances are x86_64.
      platform: ecrAssets.Platform.LINUX_AMD64,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker execution role of endpoint ${props.endpointName}`,
    });
    image.repository.grantPull(this.role);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "ecr:GetAuthorizationToken supports no resource-level permissions. Pulls are limited to the CDK bootstrap's container-assets repository, which every CDK app of this account and region shares: bootstrap this app with its own qualifier (cdk bootstrap --qualifier) to keep other apps' images out of this role's reach.",
    });
    props.modelData.grantRead(this.role);
    this.grantEndpointLogs(props.endpointName);

    const model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      // The engine needs no network: SageMaker itself fetches the model and moves requests.
      // Serverless endpoints do not support network isolation.
      enableNetworkIsolation: variant.kind === 'async',
      primaryContainer: {
        image: image.imageUri,
        modelDataSource: {
          s3DataSource: { s3Uri: props.modelData.s3Uri, s3DataType: 'S3Prefix', compressionType: 'None' },
        },
        environment: {
          MODEL_DIR: '/opt/ml/model',
          EXECUTION_PROVIDER: variant.kind === 'async' ? 'cuda' : 'cpu',
          LOG_LEVEL: props.logLevel ?? 'INFO',
          [SAFETY_CHECKER_ENV]: props.safetyChecker ?? DEFAULT_SAFETY_CHECKER,
          ...(props.engineThreads !== undefined ? { [ENGINE_THREADS_ENV]: String(props.engineThreads) } : {}),
          DECODER: props.decoder ?? 'auto',
          ...(variant.kind === 'serverless' ? { REQUEST_TIMEOUT_MS: String(SERVERLESS_REQUEST_TIMEOUT_MS) } : {}),
        },
      },
    });
    // SageMaker checks image and model access when it creates the model: the role's policy must exist.
    model.node.addDependency(this.role.node.findChild('DefaultPolicy'), ...props.modelData.ready);

    let config: sagemaker.CfnEndpointConfig;
    if (variant.kind === 'async') {
      this.errorTopic = this.notificationTopic('Failed');
      this.grantAsyncJobs(variant);
      config = new sagemaker.CfnEndpointConfig(this, 'Config', {
        productionVariants: [
          {
            variantName: VARIANT_NAME,
            modelName: model.attrModelName,
            instanceType: variant.instanceType,
            // The default host for ml.g4dn/ml.g5 has driver 470 (CUDA 11.4); the engine's CUDA 12.4
            // image is built for this one (lib/config/gpu-host.ts).
            inferenceAmiVersion: GPU_HOST.inferenceAmiVersion,
            // Creation needs one instance; the scale-to-zero policy removes it when nothing comes.
            initialInstanceCount: 1,
            modelDataDownloadTimeoutInSeconds: MODEL_DATA_DOWNLOAD_TIMEOUT_SECONDS,
            containerStartupHealthCheckTimeoutInSeconds: CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT_SECONDS,
          },
        ],
        asyncInferenceConfig: {
          outputConfig: {
            s3OutputPath: variant.jobsBucket.s3UrlForObject(variant.outputPrefix),
            s3FailurePath: variant.jobsBucket.s3UrlForObject(variant.failurePrefix),
            notificationConfig: { errorTopic: this.errorTopic.topicArn },
          },
          clientConfig: { maxConcurrentInvocationsPerInstance: MAX_CONCURRENT_INVOCATIONS_PER_INSTANCE },
        },
      });
    } else {
      config = new sagemaker.CfnEndpointConfig(this, 'Config', {
        productionVariants: [
          {
            variantName: VARIANT_NAME,
            modelName: model.attrModelName,
            serverlessConfig: { memorySizeInMb: variant.memorySizeMb, maxConcurrency: variant.maxConcurrency },
          },
        ],
      });
    }
    Validations.of(config).acknowledge({
      id: 'AwsSolutions-SM2',
      reason:
        variant.kind === 'async'
          ? `SageMaker rejects a storage KMS key for instance types with local NVMe instance storage, which every accepted family has (${describeGpuHostFamilies()}); that storage is encrypted by the platform.`
          : 'A serverless variant has no storage volume of its own to encrypt with a KMS key; SageMaker manages and encrypts its storage.',
    });

    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointName: props.endpointName,
      endpointConfigName: config.attrEndpointConfigName,
    });
    Validations.of(model).acknowledge({
      id: 'AwsSolutions-SM1',
      reason:
        variant.kind === 'async'
          ? 'A VPC would need NAT or interface endpoints (about $7+/month each) on a deployment meant to idle near $0; the async model runs with network isolation instead, so the container reaches no network at all.'
          : 'Serverless endpoints support neither a VPC nor network isolation, so this container can reach the internet; its execution role can only pull its image, read the model and write its own log group, and the engine makes no outbound calls.',
    });
  }

  private notificationTopic(id: string): sns.Topic {
    const topic = new sns.Topic(this, id, { enforceSSL: true });
    topic.grantPublish(this.role);
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'The topic has no subscriber (the failure alarm counts its messages), so SNS delivers each message nowhere and keeps none at rest. A message carries the inference id, which is the job’s reference (an HMAC of the job id that leads nobody back to it), and S3 locations of the engine’s raw answer, which only the gateway’s and the endpoint’s roles may read: nothing in it lets a reader fetch a job or its images, so the default SNS encryption in transit is enough.',
    });
    return topic;
  }

  private grantAsyncJobs(variant: AsyncVariant): void {
    const inputs = variant.jobsBucket.arnForObjects(`${variant.inputPrefix}*`);
    const results = [
      variant.jobsBucket.arnForObjects(`${variant.outputPrefix}*`),
      variant.jobsBucket.arnForObjects(`${variant.failurePrefix}*`),
    ];
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [inputs] }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: results }));
    acknowledgeWildcardResources(
      this.role,
      [inputs, ...results],
      'Async inference reads requests and writes results under generated keys; the grant is limited to the job prefixes.',
    );
  }

  /** SageMaker writes the container's stdout to this group; we own it to give it a retention. */
  private grantEndpointLogs(endpointName: string): void {
    const logGroupName = `/aws/sagemaker/Endpoints/${endpointName}`;
    new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logGroupArn = Arn.format(
      { service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
      Stack.of(this),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:DescribeLogStreams', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroupArn, `${logGroupArn}:log-stream:*`],
      }),
    );
    acknowledgeWildcardResources(
      this.role,
      [`${logGroupArn}:log-stream:*`],
      'SageMaker names a log stream per instance at run time; the grant is limited to the endpoint\'s own log group.',
    );
  }
}

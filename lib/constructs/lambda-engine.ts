import { ENGINE_THREADS_ENV } from '../../contract/engine-threads';
import { DEFAULT_SAFETY_CHECKER, SAFETY_CHECKER_ENV, type SafetyCheckerSetting } from '../../contract/safety';
import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import type { DecoderChoice } from '../../contract/decoder';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { JOB_RETENTION } from '../../lambda/facts/retention';
import { LAMBDA_MAX_MEMORY_MB, LAMBDA_MAX_TIMEOUT_SECONDS, lambdaEphemeralStorageMb } from '../config/lambda-engine-sizing';
import { acknowledgeWildcardResources } from '../nag/wildcards';
import { PATHS } from '../paths';
import type { ModelData } from './model-data';
import { NodeFunction } from './node-function';
import { ARM64_REFUSAL } from '../config/arm64-refusal';

export interface LambdaEngineProps {
  /** Fixed, so the gateway can name the function without a cross-stack reference. */
  readonly functionName: string;
  readonly modelData: ModelData;
  /** Bytes of the model folder, for the ephemeral storage it is staged to; undefined when unknown (an s3Uri). */
  readonly modelBytes?: number;
  readonly jobsBucket: s3.IBucket;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly failurePrefix: string;
  /** @default 10240 (Lambda's maximum, and what a full-size SD 1.5 pipeline needs) */
  readonly memorySizeMb?: number;
  readonly timeout: Duration;
  /** Generations at once: the hard spend cap. */
  readonly reservedConcurrency: number;
  /**
   * x86_64: onnxruntime's x64 CPU kernels (AVX2/AVX-512) are the ones measured for this engine, and
   * the prices per GB-second are known. arm64 (20% cheaper per GB-second) is refused: onnxruntime has
   * been reported to abort at start on arm64 Lambda (see ARM64_REFUSAL).
   * @default lambda.Architecture.X86_64
   */
  readonly architecture?: lambda.Architecture;
  readonly logLevel: string;
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

export { ARM64_REFUSAL };

/**
 * The engine as a container-image Lambda function (the `lambda` backend mode): invoked
 * asynchronously by the gateway, never retried (a retry would bill the same generation twice), at
 * most `reservedConcurrency` at once. A run that crashes, runs out of memory or time, or waits in
 * Lambda's queue past the jobs' pending retention, goes to an on-failure function that writes the
 * job's failure where the gateway looks.
 */
export class LambdaEngine extends Construct {
  public readonly function: lambda.DockerImageFunction;
  public readonly role: iam.Role;
  public readonly failureRecorder: NodeFunction;

  constructor(scope: Construct, id: string, props: LambdaEngineProps) {
    super(scope, id);
    const memorySize = props.memorySizeMb ?? LAMBDA_MAX_MEMORY_MB;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > LAMBDA_MAX_MEMORY_MB) {
      throw new Error(`memorySizeMb must be a whole number from 128 to ${LAMBDA_MAX_MEMORY_MB} but is ${memorySize}`);
    }
    if (props.architecture === lambda.Architecture.ARM_64) {
      throw new Error(`backend.lambdaArchitecture ${ARM64_REFUSAL}`);
    }
    if (props.timeout.toSeconds() > LAMBDA_MAX_TIMEOUT_SECONDS) {
      throw new Error(`timeout must be at most ${LAMBDA_MAX_TIMEOUT_SECONDS} seconds (Lambda's limit) but is ${props.timeout.toSeconds()}`);
    }
    if (!Number.isInteger(props.reservedConcurrency) || props.reservedConcurrency < 1) {
      throw new Error(`reservedConcurrency must be a whole number of 1 or more but is ${props.reservedConcurrency}`);
    }
    const bucket = props.jobsBucket;
    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}*`);

    this.failureRecorder = new NodeFunction(this, 'FailureRecorder', {
      entry: PATHS.engineFailureHandler,
      description: 'Writes the failure of a Lambda engine run that could not answer for itself',
      environment: { POWERTOOLS_SERVICE_NAME: 'engine-failure', LOG_LEVEL: props.logLevel },
    });
    this.failureRecorder.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects(props.failurePrefix)] }));
    acknowledgeWildcardResources(this.failureRecorder.role, [objects(props.failurePrefix)], 'Failures are written under the failure prefix only, one object per job.');

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Engine function ${props.functionName}: reads its inputs and model, writes its outputs and failures`,
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects(props.inputPrefix)] }));
    // Without ListBucket S3 answers 403 rather than 404 for a missing key: the cancel marker is usually missing.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${props.inputPrefix}*`] } } }),
    );
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects(props.outputPrefix), objects(props.failurePrefix)] }));
    acknowledgeWildcardResources(
      this.role,
      [objects(props.inputPrefix), objects(props.outputPrefix), objects(props.failurePrefix)],
      'One object per job under each prefix, named by the job’s reference: the prefix is the narrowest fixed resource.',
    );
    props.modelData.grantRead(this.role);

    this.function = new lambda.DockerImageFunction(this, 'Function', {
      functionName: props.functionName,
      description: 'serverless-diffusion engine (CPU, onnxruntime)',
      code: lambda.DockerImageCode.fromImageAsset(PATHS.engineImage.context, {
        file: PATHS.engineImage.dockerfile,
        target: PATHS.engineImage.lambdaTarget,
        platform: props.architecture === lambda.Architecture.ARM_64 ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
      }),
      architecture: props.architecture ?? lambda.Architecture.X86_64,
      memorySize,
      timeout: props.timeout,
      ephemeralStorageSize: Size.mebibytes(lambdaEphemeralStorageMb(props.modelBytes)),
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: this.role,
      logGroup,
      environment: {
        MODEL_S3_URI: props.modelData.s3Uri,
        EXECUTION_PROVIDER: 'cpu',
        LOG_LEVEL: props.logLevel.toLowerCase(),
        [SAFETY_CHECKER_ENV]: props.safetyChecker ?? DEFAULT_SAFETY_CHECKER,
        ...(props.engineThreads !== undefined ? { [ENGINE_THREADS_ENV]: String(props.engineThreads) } : {}),
        DECODER: props.decoder ?? 'auto',
      },
      retryAttempts: 0,
      // An event still queued when the job would read `expired` is no use to anybody.
      maxEventAge: Duration.seconds(JOB_RETENTION.pendingSeconds),
      onFailure: new destinations.LambdaDestination(this.failureRecorder.function),
    });
    acknowledgeWildcardResources(
      this.role,
      [`${this.failureRecorder.function.functionArn}:*`],
      "The on-failure destination's grant (CDK's LambdaDestination): the recorder function or one of its versions, nothing else.",
    );
    this.function.node.addDependency(...props.modelData.ready);
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'A container-image function: its Node version is the image\'s (Node 22 LTS), not a managed runtime.',
    });
  }
}

import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config';
import { resourceNames } from '../config/resource-names';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { EngineKeepWarm } from '../constructs/engine-keep-warm';
import { InferenceEndpoint, VARIANT_NAME } from '../constructs/inference-endpoint';
import { JOB_PREFIXES } from '../constructs/jobs-bucket';
import { LambdaEngine } from '../constructs/lambda-engine';
import { ModelData } from '../constructs/model-data';
import { ScaleToZero } from '../constructs/scale-to-zero';

export interface BackendStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * The engine: on SageMaker, a GPU async endpoint that scales to zero or a CPU serverless one; or
 * a container-image Lambda function (lambda mode), which needs no scaling of its own and may be
 * kept warm on a schedule.
 */
export class BackendStack extends Stack {
  /** The SageMaker endpoint (async and serverless modes). */
  public readonly endpoint?: InferenceEndpoint;
  public readonly scaling?: ScaleToZero;
  /** The engine function (lambda mode). */
  public readonly engineFunction?: LambdaEngine;
  /** The schedule that keeps the engine function warm (lambda mode with `backend.keepWarm`). */
  public readonly keepWarm?: EngineKeepWarm;

  constructor(scope: Construct, id: string, props: BackendStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { backend } = config;
    if (backend.mode === 'external') throw new Error('the external backend mode deploys no backend stack');
    // The gateway stack owns the jobs bucket; its fixed name avoids a cross-stack import.
    const names = resourceNames(config, this);
    const jobsBucket = s3.Bucket.fromBucketName(this, 'JobsBucket', names.jobsBucketName);
    const logs = new AccessLogBucket(this, 'AccessLogs');
    const modelData = new ModelData(this, 'ModelData', { source: config.model, accessLogs: logs.bucket });
    const jobPrefixes = { jobsBucket, inputPrefix: JOB_PREFIXES.input, outputPrefix: JOB_PREFIXES.output, failurePrefix: JOB_PREFIXES.failure };

    if (backend.mode === 'lambda') {
      this.engineFunction = new LambdaEngine(this, 'Engine', {
        functionName: names.engineFunctionName,
        modelData,
        modelBytes: config.model.kind === 'local' ? config.model.bytes : undefined,
        ...jobPrefixes,
        memorySizeMb: backend.lambdaMemoryMb,
        timeout: Duration.seconds(backend.lambdaTimeoutSeconds),
        reservedConcurrency: backend.maxInstances,
        architecture: backend.lambdaArchitecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
        logLevel: config.logLevel,
        safetyChecker: config.safety.checker,
        engineThreads: backend.engineThreads,
        decoder: backend.decoder,
      });
      if (backend.keepWarm) {
        this.keepWarm = new EngineKeepWarm(this, 'KeepWarm', { engineFunction: this.engineFunction.function, schedule: backend.keepWarm });
      }
      return;
    }

    this.endpoint = new InferenceEndpoint(this, 'Engine', {
      endpointName: config.endpointName,
      modelData,
      logLevel: config.logLevel,
      safetyChecker: config.safety.checker,
      engineThreads: backend.engineThreads,
      decoder: backend.decoder,
      variant:
        backend.mode === 'async'
          ? { kind: 'async', instanceType: backend.instanceType, ...jobPrefixes }
          : { kind: 'serverless', memorySizeMb: backend.serverlessMemoryMb, maxConcurrency: backend.serverlessMaxConcurrency },
    });
    if (backend.mode === 'async') {
      this.scaling = new ScaleToZero(this, 'Scaling', {
        endpointName: config.endpointName,
        variantName: VARIANT_NAME,
        dependsOn: this.endpoint.endpoint,
        maxInstances: backend.maxInstances,
        backlogPerInstanceTarget: backend.backlogPerInstanceTarget,
        idleMinutes: backend.idleMinutesBeforeScaleIn,
      });
    }
  }
}

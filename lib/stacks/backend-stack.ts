import { Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config';
import { resourceNames } from '../config/resource-names';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { InferenceEndpoint, VARIANT_NAME } from '../constructs/inference-endpoint';
import { JOB_PREFIXES } from '../constructs/jobs-bucket';
import { ModelData } from '../constructs/model-data';
import { ScaleToZero } from '../constructs/scale-to-zero';

export interface BackendStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** The engine on SageMaker: a GPU async endpoint that scales to zero, or a CPU serverless one. */
export class BackendStack extends Stack {
  public readonly endpoint: InferenceEndpoint;
  public readonly scaling?: ScaleToZero;

  constructor(scope: Construct, id: string, props: BackendStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { backend } = config;
    if (backend.mode === 'external') throw new Error('the external backend mode deploys no backend stack');
    // The gateway stack owns the jobs bucket; its fixed name avoids a cross-stack import.
    const jobsBucket = s3.Bucket.fromBucketName(this, 'JobsBucket', resourceNames(config, this).jobsBucketName);
    const logs = new AccessLogBucket(this, 'AccessLogs');
    const modelData = new ModelData(this, 'ModelData', { source: config.model, accessLogs: logs.bucket });
    this.endpoint = new InferenceEndpoint(this, 'Engine', {
      endpointName: config.endpointName,
      modelData,
      logLevel: config.logLevel,
      variant:
        backend.mode === 'async'
          ? {
              kind: 'async',
              instanceType: backend.instanceType,
              jobsBucket,
              inputPrefix: JOB_PREFIXES.input,
              outputPrefix: JOB_PREFIXES.output,
              failurePrefix: JOB_PREFIXES.failure,
            }
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

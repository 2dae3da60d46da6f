import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { JOB_RETENTION } from '../../lambda/facts/retention';
import { PRIVATE_BUCKET } from './private-bucket';

/**
 * Key prefixes of the jobs bucket (the Lambda contract's JOBS_PREFIX_* defaults). Each has one
 * writer: the gateway writes requests and cancel markers under `input` and the images it hands out
 * under `image`; the engine (SageMaker or the engine function) writes raw results under `output`
 * and failures under `failure`. Separate prefixes let each role's grant name exactly what it writes.
 */
export const JOB_PREFIXES = {
  input: 'inputs/',
  output: 'outputs/',
  failure: 'failures/',
  image: 'images/',
} as const;

export interface JobsBucketProps {
  /** Physical name; the backend stack addresses the bucket by it. */
  readonly bucketName: string;
  /** Days before inputs, outputs, failures and images are deleted; at least the gateway's result retention. */
  readonly retentionDays: number;
  /** Origins whose pages fetch result images from presigned URLs. */
  readonly corsOrigins: readonly string[];
  readonly accessLogs: s3.IBucket;
}

/** Private bucket for job inputs, results and failures, which expire on their own. */
export class JobsBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: JobsBucketProps) {
    super(scope, id);
    const minimumDays = Math.ceil(JOB_RETENTION.resultsSeconds / 86400);
    if (props.retentionDays < minimumDays) {
      throw new Error(`retentionDays must be at least ${minimumDays} (the gateway serves results that long) but is ${props.retentionDays}`);
    }
    const expiration = Duration.days(props.retentionDays);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      bucketName: props.bucketName,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'jobs-bucket/',
      lifecycleRules: [
        ...Object.values(JOB_PREFIXES).map((prefix) => ({ id: `expire-${prefix.replace('/', '')}`, prefix, expiration })),
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      cors: [
        {
          allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedOrigins: [...props.corsOrigins],
          allowedHeaders: ['*'],
          maxAge: 3600,
        },
      ],
      // Jobs are disposable; emptying the bucket on delete lets the fixed name be reused.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
  }
}

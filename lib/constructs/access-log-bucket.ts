import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PRIVATE_BUCKET } from './private-bucket';

export interface AccessLogBucketProps {
  /**
   * Whether CloudFront standard logging writes here. CloudFront delivers those logs with object
   * ACLs, so the bucket must keep ACLs enabled (bucket owner preferred) instead of enforcing owner.
   * @default false
   */
  readonly acceptCloudFrontLogs?: boolean;
  /** How long log files are kept. @default Duration.days(90) */
  readonly retention?: Duration;
}

/** A private, TLS-only bucket that receives S3 server access logs (and optionally CloudFront logs). */
export class AccessLogBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      // CloudFront writes its logs with ACLs, which BUCKET_OWNER_ENFORCED would refuse.
      objectOwnership: props.acceptCloudFrontLogs
        ? s3.ObjectOwnership.BUCKET_OWNER_PREFERRED
        : s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: props.retention ?? Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log destination of the other buckets; logging it into itself would loop.',
    });
  }
}

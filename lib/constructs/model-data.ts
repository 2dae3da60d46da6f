import { Arn, ArnFormat, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, IDependable } from 'constructs';
import type { ModelSource } from '../config/deployment-config';
import { acknowledgeBucketDeploymentHandler } from '../nag/bucket-deployment';
import { acknowledgeWildcardResources } from '../nag/wildcards';
import { PRIVATE_BUCKET } from './private-bucket';

export interface ModelDataProps {
  readonly source: ModelSource;
  /** Where the models bucket writes its access logs (local source only). */
  readonly accessLogs: s3.IBucket;
}

/**
 * The engine's model folder as an S3 prefix that SageMaker copies, file by file, to /opt/ml/model,
 * or that the engine function stages to its ephemeral storage at cold start (lambda mode):
 * uncompressed model data, no tarball to build or unpack for gigabytes of ONNX weights.
 * A local folder is uploaded by the deploy under a prefix named after its content hash, so a new
 * model yields a new SageMaker Model instead of mutating the files of a running one.
 */
export class ModelData extends Construct {
  /** s3://bucket/prefix/ with a trailing slash, as SageMaker's S3Prefix data source wants it. */
  public readonly s3Uri: string;
  /** Completes when the model files are in place. */
  public readonly ready: IDependable[];
  private readonly bucketArn: string;
  private readonly keyPrefix: string;

  constructor(scope: Construct, id: string, props: ModelDataProps) {
    super(scope, id);
    if (props.source.kind === 's3') {
      const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(props.source.s3Uri);
      if (!match || !props.source.s3Uri.endsWith('/')) {
        throw new Error(`model s3Uri must look like s3://bucket/prefix/ but is ${props.source.s3Uri}`);
      }
      this.s3Uri = props.source.s3Uri;
      this.bucketArn = Arn.format({ service: 's3', region: '', account: '', resource: match[1], arnFormat: ArnFormat.NO_RESOURCE_NAME }, Stack.of(this));
      this.keyPrefix = match[2];
      this.ready = [];
      return;
    }

    const files = new Asset(this, 'Files', { path: props.source.path });
    const bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'models-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.keyPrefix = `models/${files.assetHash}/`;
    const upload = new s3deploy.BucketDeployment(this, 'Upload', {
      sources: [s3deploy.Source.bucket(files.bucket, files.s3ObjectKey)],
      destinationBucket: bucket,
      destinationKeyPrefix: this.keyPrefix,
      // SD 1.x in fp16 ONNX is about 2 GB: room to download the archive and unpack it.
      memoryLimit: 2048,
      ephemeralStorageSize: Size.gibibytes(10),
      prune: false,
      // Without its own group, the copy function's logs would stay two years (CDK's managed default).
      logGroup: new logs.LogGroup(this, 'CopyLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    });
    acknowledgeBucketDeploymentHandler(this, { sources: [files.bucket], destination: bucket, invalidatesCdn: false });
    this.bucketArn = bucket.bucketArn;
    this.s3Uri = `s3://${bucket.bucketName}/${this.keyPrefix}`;
    this.ready = [upload];
  }

  /** Lets the engine's role list and read the model files, and nothing else in the bucket. */
  grantRead(role: iam.Role): void {
    const files = `${this.bucketArn}/${this.keyPrefix}*`;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [files] }));
    acknowledgeWildcardResources(role, [files], 'The engine (SageMaker, or the engine function at cold start) copies every file of the model folder; the grant is limited to that prefix.');
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${this.keyPrefix}*`] } },
      }),
    );
  }
}

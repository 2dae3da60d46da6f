import { Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { acknowledgeWildcardActions, acknowledgeWildcardResources } from './wildcards';

export interface BucketDeploymentBuckets {
  /** Buckets the deployment copies from (asset buckets). */
  readonly sources: readonly s3.IBucket[];
  readonly destination: s3.IBucket;
  /** Whether the deployment invalidates a CloudFront distribution afterwards. */
  readonly invalidatesCdn: boolean;
}

/**
 * Acknowledges the findings on the copy function that aws-cdk-lib's BucketDeployment creates (one
 * singleton per stack and memory size, outside our construct tree), each with its reason.
 */
export function acknowledgeBucketDeploymentHandler(scope: IConstruct, buckets: BucketDeploymentBuckets): void {
  const stack = Stack.of(scope);
  const handlers = stack.node.children.filter((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (handlers.length === 0) throw new Error(`no BucketDeployment handler found in stack ${stack.stackName}`);
  for (const handler of handlers) {
    Validations.of(handler).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: 'aws-cdk-lib owns this copy function and chooses its Python runtime; it runs only during deployments.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'aws-cdk-lib attaches the basic execution policy to its deployment-time copy function; it only writes logs.',
      },
    );
    if (buckets.invalidatesCdn) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'aws-cdk-lib grants the CloudFront invalidation actions for the post-deploy invalidation on every distribution.',
      });
    }
    acknowledgeWildcardActions(
      handler,
      ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'],
      'aws-cdk-lib grants its copy function read on the asset objects and read/write on the destination bucket with these action groups.',
    );
    acknowledgeWildcardResources(
      handler,
      buckets.sources.map((bucket) => bucket.arnForObjects('*')),
      "aws-cdk-lib grants its copy function the whole CDK bootstrap staging bucket, not the one uploaded asset, and every CDK app of this account and region stages its assets there; the function runs only during deployments. Bootstrap this app with its own qualifier (cdk bootstrap --qualifier) to narrow it to this app's assets.",
    );
    acknowledgeWildcardResources(
      handler,
      [buckets.destination.arnForObjects('*')],
      'The copy function writes (and for the site, prunes) every file of the destination bucket, which holds only what it deploys.',
    );
  }
}

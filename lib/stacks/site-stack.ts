import { Stack, StackProps } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SiteDeployment } from '../constructs/site-deployment';

export interface SiteStackProps extends StackProps {
  /** The front stack's site bucket, by its fixed name. */
  readonly bucketName: string;
  readonly distribution: cloudfront.IDistribution;
  readonly apiBaseUrl: string;
  /** `site.embedOrigins`, for the page's `config.json`. @default - none */
  readonly embedOrigins?: readonly string[];
}

/**
 * Publishes the built site and its `config.json`. Separate from the front stack because the API's
 * URL is only known after the gateway stack, which itself needs the site's origin for CORS.
 */
export class SiteStack extends Stack {
  constructor(scope: Construct, id: string, props: SiteStackProps) {
    super(scope, id, props);
    new SiteDeployment(this, 'Site', {
      bucket: s3.Bucket.fromBucketName(this, 'SiteBucket', props.bucketName),
      distribution: props.distribution,
      runtimeConfig: { apiBaseUrl: props.apiBaseUrl, embedOrigins: props.embedOrigins ?? [] },
    });
  }
}

import { execFileSync } from 'node:child_process';
import { DockerImage, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { acknowledgeBucketDeploymentHandler } from '../nag/bucket-deployment';
import { PATHS, REPO_ROOT } from '../paths';

/** What the page reads from `/config.json` at start (the site's runtime configuration contract). */
export interface SiteRuntimeConfig {
  /** Absolute base URL of the public API. */
  readonly apiBaseUrl: string;
  /** Origins of pages that may embed the site: the embedded page posts its height only to them. */
  readonly embedOrigins: readonly string[];
}

export interface SiteDeploymentProps {
  readonly bucket: s3.IBucket;
  readonly distribution: cloudfront.IDistribution;
  readonly runtimeConfig: SiteRuntimeConfig;
}

/**
 * Builds the site with its own build script during synth, uploads it with the runtime
 * configuration next to it, and invalidates the CDN so visitors get the new files at once.
 */
export class SiteDeployment extends Construct {
  public readonly deployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: SiteDeploymentProps) {
    super(scope, id);
    // An Asset of our own (rather than Source.asset) names its bucket for the acknowledgements.
    const site = new Asset(this, 'Build', {
      path: PATHS.site,
      exclude: ['dist', 'node_modules'],
      bundling: {
        local: {
          tryBundle(outputDir: string): boolean {
            execFileSync(process.execPath, [require.resolve('tsx/cli'), PATHS.siteBuildScript, '--out', outputDir], {
              cwd: REPO_ROOT,
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            return true;
          },
        },
        // Only used if local bundling were to decline; it never does, so synth needs no Docker.
        image: DockerImage.fromRegistry('node:22'),
      },
    });
    this.deployment = new s3deploy.BucketDeployment(this, 'Files', {
      sources: [s3deploy.Source.bucket(site.bucket, site.s3ObjectKey), s3deploy.Source.jsonData('config.json', props.runtimeConfig)],
      destinationBucket: props.bucket,
      distribution: props.distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 512,
      // Without its own group, the copy function's logs would stay two years (CDK's managed default).
      logGroup: new logs.LogGroup(this, 'CopyLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
    });
    acknowledgeBucketDeploymentHandler(this, { sources: [site.bucket], destination: props.bucket, invalidatesCdn: true });
  }
}

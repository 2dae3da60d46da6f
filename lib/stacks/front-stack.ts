import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config';
import { resourceNames } from '../config/resource-names';
import { SiteHosting } from '../constructs/site-hosting';
import { siteContentSecurityPolicy } from '../../site/content-security-policy';
import { siteRemoteOrigins } from '../security/site-remote-origins';

export interface FrontStackProps extends StackProps {
  readonly config: DeploymentConfig;
  /**
   * The API's exact host, for the page's CSP; known when the gateway stack comes first (custom domain).
   * @default - any API Gateway host of the region
   */
  readonly apiHost?: string;
}

/** Where the site is served from. Its files are published by the site stack once the API exists. */
export class FrontStack extends Stack {
  public readonly hosting: SiteHosting;

  constructor(scope: Construct, id: string, props: FrontStackProps) {
    super(scope, id, props);
    this.hosting = new SiteHosting(this, 'Site', {
      bucketName: resourceNames(props.config, this).siteBucketName,
      contentSecurityPolicy: siteContentSecurityPolicy({
        remoteOrigins: siteRemoteOrigins({
          region: props.config.region,
          jobsBucketName: resourceNames(props.config, this).jobsBucketName,
          apiHost: props.apiHost,
        }),
        upgradeInsecureRequests: true,
        embedOrigins: props.config.site.embedOrigins,
      }),
      embedOrigins: props.config.site.embedOrigins,
      domain: props.config.domain,
    });
    new CfnOutput(this, 'SiteUrl', { value: `${this.hosting.siteOrigin}/`, description: 'The public site' });
  }
}

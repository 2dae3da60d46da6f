import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config';
import { resourceNames } from '../config/resource-names';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { ApiFirewall } from '../constructs/api-firewall';
import { GatewayBackend, GatewayFunction } from '../constructs/gateway-function';
import { GatewaySecret } from '../constructs/gateway-secret';
import { JobsBucket } from '../constructs/jobs-bucket';
import { PublicApi } from '../constructs/public-api';
import { QuotasAndJobsTable } from '../constructs/quotas-and-jobs-table';

export interface GatewayStackProps extends StackProps {
  readonly config: DeploymentConfig;
  /** The site's origin; always allowed by CORS. */
  readonly siteOrigin: string;
}

/** The public API: REST API behind WAF, the gateway Lambda, its secret, table and jobs bucket. */
export class GatewayStack extends Stack {
  public readonly jobs: JobsBucket;
  public readonly gateway: GatewayFunction;
  public readonly api: PublicApi;
  public readonly firewall: ApiFirewall;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const allowedOrigins = [props.siteOrigin, ...config.api.allowedOrigins];
    const logs = new AccessLogBucket(this, 'AccessLogs');
    this.jobs = new JobsBucket(this, 'Jobs', {
      bucketName: resourceNames(config, this).jobsBucketName,
      retentionDays: config.jobs.retentionDays,
      corsOrigins: allowedOrigins,
      accessLogs: logs.bucket,
    });
    const table = new QuotasAndJobsTable(this, 'QuotasAndJobs');
    const secret = new GatewaySecret(this, 'Secret');
    this.gateway = new GatewayFunction(this, 'Gateway', {
      backend: gatewayBackend(config),
      jobsBucket: this.jobs.bucket,
      table: table.table,
      secret: secret.secret,
      allowedOrigins,
      quotaPerIpPerDay: config.quotas.perIpPerDay,
      quotaGlobalPerDay: config.quotas.globalPerDay,
      coldStartSeconds: config.backend.coldStartSeconds,
      secondsPerImage: config.backend.secondsPerImage,
      logLevel: config.logLevel,
    });
    this.api = new PublicApi(this, 'Api', {
      handler: this.gateway.function,
      allowedOrigins,
      throttlingRateLimit: config.api.throttlingRateLimit,
      throttlingBurstLimit: config.api.throttlingBurstLimit,
    });
    this.firewall = new ApiFirewall(this, 'Firewall', {
      stageArn: this.api.api.deploymentStage.stageArn,
      rateLimit: config.waf.rateLimit,
      rateWindowSeconds: config.waf.rateWindowSeconds,
      blockCidrs: config.waf.blockCidrs,
      allowCidrs: config.waf.allowCidrs,
      allowListOnly: config.waf.allowListOnly,
      managedRules: config.waf.managedRules,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the public API' });
  }
}

function gatewayBackend(config: DeploymentConfig): GatewayBackend {
  switch (config.backend.mode) {
    case 'async':
      return { mode: 'async', endpointName: config.endpointName };
    case 'serverless':
      return { mode: 'serverless', endpointName: config.endpointName };
    case 'external':
      // The configuration schema requires externalUrl in this mode.
      return { mode: 'external', externalUrl: config.backend.externalUrl ?? '' };
  }
}

import { CfnOutput, Stack, StackProps, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { withDeployedDecoder } from '../config/deployed-decoder';
import type { DeploymentConfig } from '../config/deployment-config';
import { GATEWAY_OUTPUTS } from '../config/operator-handles';
import { blockListNames, resourceNames } from '../config/resource-names';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { ApiFirewall } from '../constructs/api-firewall';
import { GatewayBackend, GatewayFunction } from '../constructs/gateway-function';
import { GatewaySecret } from '../constructs/gateway-secret';
import { JobsBucket } from '../constructs/jobs-bucket';
import { PublicApi } from '../constructs/public-api';
import { QuotasAndJobsTable } from '../constructs/quotas-and-jobs-table';
import { USAGE_ASSUMPTIONS } from '../cost/assumptions';

export interface GatewayStackProps extends StackProps {
  readonly config: DeploymentConfig;
  /** The site's origin; always allowed by CORS. */
  readonly siteOrigin: string;
}

/**
 * The public API: REST API behind WAF, the gateway Lambda, its secret, table and jobs bucket.
 * With `waf.enabled` false the same lists and limits come from the API's resource policy and the
 * gateway's own per-address counters instead of a web ACL.
 */
export class GatewayStack extends Stack {
  public readonly jobs: JobsBucket;
  public readonly gateway: GatewayFunction;
  public readonly api: PublicApi;
  /** Absent when `waf.enabled` is false. */
  public readonly firewall?: ApiFirewall;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { waf } = config;
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
      backend: gatewayBackend(config, this),
      jobsBucket: this.jobs.bucket,
      table: table.table,
      secret: secret.secret,
      allowedOrigins,
      quotaPerIpPerDay: config.quotas.perIpPerDay,
      quotaGlobalPerDay: config.quotas.globalPerDay,
      coldStartSeconds: config.backend.coldStartSeconds,
      secondsPerImage: config.backend.secondsPerImage,
      // An external engine reports its own model; the others run the configured one.
      modelInfo: config.backend.mode === 'external' ? undefined : withDeployedDecoder(config),
      ...(waf.enabled
        ? {}
        : {
            rateLimit: {
              perIp: waf.rateLimit,
              createImagePerIp: waf.createImageRateLimit,
              windowSeconds: waf.rateWindowSeconds,
              exemptCidrs: waf.allowCidrs,
            },
          }),
      ...(config.backend.mode === 'async'
        ? {
            gpuBudget: {
              minutesPerDay: config.quotas.gpuMinutesPerDay,
              // The same tail the cost estimate bills for each wake-up.
              idleSeconds: (config.backend.idleMinutesBeforeScaleIn + USAGE_ASSUMPTIONS.scaleInLagMinutes) * 60,
            },
          }
        : {}),
      warmOnVisit: config.backend.warmOnVisit,
      logLevel: config.logLevel,
    });
    this.api = new PublicApi(this, 'Api', {
      handler: this.gateway.function,
      allowedOrigins,
      throttlingRateLimit: config.api.throttlingRateLimit,
      throttlingBurstLimit: config.api.throttlingBurstLimit,
      createImageThrottling: {
        rateLimit: config.api.createImageThrottlingRateLimit,
        burstLimit: config.api.createImageThrottlingBurstLimit,
      },
      ...(waf.enabled ? {} : { sourceIpLists: waf }),
    });
    if (!waf.enabled) {
      Validations.of(this.api.api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'waf.enabled is false by choice (a web ACL costs $5 a month plus $1 per rule): the resource policy holds the block and allow lists, the gateway counts requests per address in DynamoDB, and the daily quotas and GPU-time guard apply as with WAF.',
      });
    } else {
      this.firewall = new ApiFirewall(this, 'Firewall', {
        stageArn: this.api.api.deploymentStage.stageArn,
        rateLimit: waf.rateLimit,
        createImageRateLimit: waf.createImageRateLimit,
        rateWindowSeconds: waf.rateWindowSeconds,
        blockCidrs: waf.blockCidrs,
        allowCidrs: waf.allowCidrs,
        allowListOnly: waf.allowListOnly,
        managedRules: waf.managedRules,
        corsOrigin: props.siteOrigin,
        blockListNames: blockListNames(config),
      });
      new CfnOutput(this, GATEWAY_OUTPUTS.blockListIpv4Arn, {
        value: this.firewall.blockLists.IPV4.attrArn,
        description: 'WAF IP set of blocked IPv4 addresses (npm run block)',
      });
      new CfnOutput(this, GATEWAY_OUTPUTS.blockListIpv6Arn, {
        value: this.firewall.blockLists.IPV6.attrArn,
        description: 'WAF IP set of blocked IPv6 addresses (npm run block)',
      });
    }
    new CfnOutput(this, GATEWAY_OUTPUTS.apiUrl, { value: this.api.url, description: 'Base URL of the public API' });
    new CfnOutput(this, GATEWAY_OUTPUTS.restApiId, { value: this.api.api.restApiId, description: 'REST API id (npm run block, without WAF)' });
    new CfnOutput(this, GATEWAY_OUTPUTS.stageName, { value: this.api.stageName, description: 'Stage that npm run block redeploys' });
  }
}

function gatewayBackend(config: DeploymentConfig, scope: Construct): GatewayBackend {
  switch (config.backend.mode) {
    case 'async':
      return { mode: 'async', endpointName: config.endpointName };
    case 'serverless':
      return { mode: 'serverless', endpointName: config.endpointName };
    case 'lambda':
      // The backend stack creates the function under this name; naming it avoids a cross-stack import.
      return { mode: 'lambda', functionName: resourceNames(config, scope).engineFunctionName, timeoutSeconds: config.backend.lambdaTimeoutSeconds };
    case 'external':
      // The configuration schema requires externalUrl in this mode.
      return { mode: 'external', externalUrl: config.backend.externalUrl ?? '' };
  }
}


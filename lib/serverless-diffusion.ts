import { App, Aspects, Environment, Tags } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ProviderLogGroups } from './aspects/provider-log-groups';
import type { DeploymentConfig } from './config/deployment-config';
import { resourceNames, stackName, type StackPart } from './config/resource-names';
import { BackendStack } from './stacks/backend-stack';
import { FrontStack } from './stacks/front-stack';
import { GatewayStack } from './stacks/gateway-stack';
import { OperationsStack } from './stacks/operations-stack';
import { SiteStack } from './stacks/site-stack';

export interface ServerlessDiffusionStacks {
  readonly front: FrontStack;
  readonly gateway: GatewayStack;
  readonly backend?: BackendStack;
  readonly site: SiteStack;
  readonly operations: OperationsStack;
}

/**
 * Adds the deployment's stacks in dependency order: front (bucket, CDN) -> gateway (needs the
 * site origin; with a custom domain the gateway comes first and the front names the API's host) -> backend (needs the jobs bucket; the gateway names the endpoint or the engine
 * function by its fixed name) -> site files (need the API URL) and operations (need everything).
 */
export function addServerlessDiffusionStacks(app: App, config: DeploymentConfig): ServerlessDiffusionStacks {
  const env: Environment = { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: config.region };
  const name = (part: StackPart) => stackName(config, part);
  // With a custom domain the site's origin is known before any stack exists: the gateway comes first
  // and the site's CSP names the API's exact host. Without one, the gateway needs the distribution's
  // random host for CORS, so the front comes first and the CSP allows the region's API hosts.
  const addGateway = (siteOrigin: string) =>
    new GatewayStack(app, name('Gateway'), { env, config, siteOrigin, description: 'serverless-diffusion: public API, WAF, gateway function' });
  const addFront = (apiHost?: string) =>
    new FrontStack(app, name('Front'), { env, config, apiHost, description: 'serverless-diffusion: site bucket and CDN' });
  let front: FrontStack;
  let gateway: GatewayStack;
  if (config.domain) {
    gateway = addGateway(`https://${config.domain.name}`);
    front = addFront(gateway.api.host);
  } else {
    front = addFront();
    gateway = addGateway(front.hosting.siteOrigin);
  }
  const backend =
    config.backend.mode === 'external'
      ? undefined
      : new BackendStack(app, name('Backend'), {
          env,
          config,
          description:
            config.backend.mode === 'lambda' ? 'serverless-diffusion: engine function (Lambda)' : 'serverless-diffusion: SageMaker engine endpoint',
        });
  const site = new SiteStack(app, name('Site'), {
    env,
    bucketName: resourceNames(config, front).siteBucketName,
    distribution: front.hosting.distribution,
    apiBaseUrl: gateway.api.url,
    embedOrigins: config.site.embedOrigins,
    description: 'serverless-diffusion: site files and runtime configuration',
  });
  const operations = new OperationsStack(app, name('Operations'), {
    env,
    config,
    gateway: gateway.gateway,
    apiName: gateway.api.api.restApiName,
    restApiId: gateway.api.api.restApiId,
    stageName: gateway.api.stageName,
    webAclName: gateway.firewall?.webAclName,
    distributionId: front.hosting.distribution.distributionId,
    endpointErrorTopic: backend?.endpoint?.errorTopic,
    description: 'serverless-diffusion: cost dashboard, alarms, budget',
  });
  // Stacks that address another stack's resources by name must still deploy after it.
  backend?.addStackDependency(gateway);
  site.addStackDependency(front);
  if (backend) operations.addStackDependency(backend);
  // Every log group keeps its events a month, the custom resource handlers' included.
  Aspects.of(app).add(new ProviderLogGroups(logs.RetentionDays.ONE_MONTH));
  // cfn-lint's schemas reject Tags on these two types, although CDK would render them.
  Tags.of(app).add('app', 'serverless-diffusion', {
    excludeResourceTypes: ['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::CloudWatch::Dashboard'],
  });
  return { front, gateway, backend, site, operations };
}

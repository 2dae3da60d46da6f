import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { IpVersion } from './cidr';
import type { DeploymentConfig } from './deployment-config';

export type StackPart = 'Front' | 'Gateway' | 'Backend' | 'Site' | 'Operations';

/** A stack's name; operator tools find a deployment's outputs by it. */
export function stackName(config: Pick<DeploymentConfig, 'appName'>, part: StackPart): string {
  return `${config.appName}-${part}`;
}

/** The WAF IP sets of the block list, named so an operator can find them in the console. */
export function blockListNames(config: Pick<DeploymentConfig, 'endpointName'>): Record<IpVersion, string> {
  return { IPV4: `${config.endpointName}-block-ipv4`, IPV6: `${config.endpointName}-block-ipv6` };
}

/** The engine function of the lambda mode (the preflight reads its reserved concurrency by it). */
export function engineFunctionName(config: Pick<DeploymentConfig, 'endpointName'>): string {
  return `${config.endpointName}-engine`;
}

/**
 * Physical names that more than one stack needs. They are derived from the configuration instead
 * of passed as cross-stack references, so a stack can address a resource of another stack without
 * an import (which would also keep cdk-nag findings on those ARNs predictable).
 */
export function resourceNames(config: DeploymentConfig, scope: IConstruct) {
  const stack = Stack.of(scope);
  // Bucket names are global: account and region make them unique, as CDK's bootstrap bucket does.
  const bucket = (purpose: string) => `${config.endpointName}-${purpose}-${stack.account}-${stack.region}`;
  return {
    endpointName: config.endpointName,
    /** The engine function of the lambda mode. */
    engineFunctionName: engineFunctionName(config),
    jobsBucketName: bucket('jobs'),
    siteBucketName: bucket('site'),
  };
}

import { Arn, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambda/facts/metrics';
import { PATHS } from '../paths';
import { NodeFunction } from './node-function';

/** Memory of the publisher function; the cost estimate reads it too. */
export const PUBLISHER_MEMORY_MB = 128;

export interface InstanceCountPublisherProps {
  readonly endpointName: string;
  /** @default 'INFO' */
  readonly logLevel?: string;
}

/**
 * A function that runs every minute and writes the endpoint's instance count as the
 * `EndpointInstances` metric (async endpoints publish none; instance time is the main cost).
 */
export class InstanceCountPublisher extends Construct {
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: InstanceCountPublisherProps) {
    super(scope, id);
    const node = new NodeFunction(this, 'Handler', {
      entry: PATHS.instanceCountHandler,
      description: `Publishes the instance count of SageMaker endpoint ${props.endpointName}`,
      memorySize: PUBLISHER_MEMORY_MB,
      timeout: Duration.seconds(20),
      environment: {
        ENDPOINT_NAME: props.endpointName,
        POWERTOOLS_SERVICE_NAME: 'instance-count',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
    });
    node.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpoint'],
        resources: [Arn.format({ service: 'sagemaker', resource: 'endpoint', resourceName: props.endpointName }, Stack.of(this))],
      }),
    );
    this.function = node.function;
    new events.Rule(this, 'EveryMinute', {
      description: 'Publish the endpoint instance count',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new eventsTargets.LambdaFunction(node.function, { retryAttempts: 0 })],
    });
  }
}

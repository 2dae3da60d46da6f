import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { INSTANCE_COUNT_METRIC } from '../facts/instance-count-metric';

/**
 * Runs once a minute and writes the endpoint's current instance count as an EMF metric, because
 * SageMaker async endpoints publish no instance-count metric and the dashboard turns instance
 * time into dollars.
 */

const logger = new Logger({ serviceName: 'instance-count' });
const sagemaker = new SageMakerClient({});
const metrics = new Metrics({ namespace: INSTANCE_COUNT_METRIC.namespace, serviceName: 'instance-count' });
// Powertools adds a `service` dimension by default; the dashboard reads the series with the
// EndpointName dimension alone, and {service, EndpointName} would be a different series.
metrics.clearDefaultDimensions();

function requireEnv(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

const endpointName = requireEnv('ENDPOINT_NAME');

/** Instances running across the endpoint's variants; a variant still launching counts zero. */
export async function currentInstanceCount(client: SageMakerClient, name: string): Promise<number> {
  const endpoint = await client.send(new DescribeEndpointCommand({ EndpointName: name }));
  return (endpoint.ProductionVariants ?? []).reduce((total, variant) => total + (variant.CurrentInstanceCount ?? 0), 0);
}

export async function handler(): Promise<{ instances: number }> {
  const instances = await currentInstanceCount(sagemaker, endpointName);
  metrics.addDimension(INSTANCE_COUNT_METRIC.dimension, endpointName);
  metrics.addMetric(INSTANCE_COUNT_METRIC.metricName, MetricUnit.Count, instances);
  metrics.publishStoredMetrics();
  logger.debug('published instance count', { endpointName, instances });
  return { instances };
}

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { INSTANCE_COUNT_METRIC } from '../../lambda/facts/instance-count-metric';

/** SageMaker async inference metrics that scaling and alarms read. */
export type AsyncEndpointMetricName =
  | 'ApproximateBacklogSize'
  | 'ApproximateBacklogSizePerInstance'
  | 'ApproximateAgeOfOldestRequest'
  | 'HasBacklogWithoutCapacity';

/**
 * An async endpoint metric. SageMaker publishes these with the `EndpointName` dimension only; a
 * metric that adds `VariantName` names a series that does not exist, and an alarm on it never
 * fires (a wrong dimension is how scale-from-zero silently breaks).
 */
export function asyncEndpointMetric(
  metricName: AsyncEndpointMetricName,
  endpointName: string,
  options: { readonly statistic?: string; readonly period?: Duration } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SageMaker',
    metricName,
    dimensionsMap: { EndpointName: endpointName },
    statistic: options.statistic ?? cloudwatch.Stats.MAXIMUM,
    period: options.period ?? Duration.minutes(1),
  });
}

/** Instances of the endpoint, written by the publisher function (async endpoints publish none). */
export function endpointInstancesMetric(
  endpointName: string,
  options: { readonly statistic?: string; readonly period?: Duration } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: INSTANCE_COUNT_METRIC.namespace,
    metricName: INSTANCE_COUNT_METRIC.metricName,
    dimensionsMap: { [INSTANCE_COUNT_METRIC.dimension]: endpointName },
    statistic: options.statistic ?? cloudwatch.Stats.MAXIMUM,
    period: options.period ?? Duration.minutes(1),
  });
}

/** AWS/Lambda metrics of the engine function that the dashboard and alarms read. */
export type EngineFunctionMetricName =
  | 'Invocations'
  | 'Errors'
  | 'Throttles'
  | 'Duration'
  | 'ConcurrentExecutions'
  | 'AsyncEventsReceived'
  | 'AsyncEventAge'
  | 'AsyncEventsDropped';

/**
 * A metric of the engine function (lambda mode), by name: the operations stack addresses the
 * function of the backend stack without a cross-stack reference, as the gateway does.
 */
export function engineFunctionMetric(
  metricName: EngineFunctionMetricName,
  functionName: string,
  options: { readonly statistic?: string; readonly period?: Duration; readonly label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName,
    dimensionsMap: { FunctionName: functionName },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
    label: options.label,
  });
}

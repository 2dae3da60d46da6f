import { METRICS_NAMESPACE } from './metrics';

/** The metric the instance-count publisher writes, as the dashboard and cost estimates read it. */
export const INSTANCE_COUNT_METRIC = {
  namespace: METRICS_NAMESPACE,
  metricName: 'EndpointInstances',
  dimension: 'EndpointName',
} as const;

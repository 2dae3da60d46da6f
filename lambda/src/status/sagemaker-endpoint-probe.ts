import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { BackendCapacity } from '../backends/backend';
import type { Clock } from '../clock';

export interface SageMakerEndpointProbeProps {
  readonly sagemaker: SageMakerClient;
  readonly endpointName: string;
  /** Reads the async queue's `ApproximateBacklogSize`; absent for real-time endpoints, which have no queue. */
  readonly cloudwatch?: CloudWatchClient;
  readonly logger: Logger;
  readonly now: Clock;
}

/** SageMaker publishes the async backlog once a minute; ten minutes covers a late datapoint. */
const BACKLOG_LOOKBACK_MS = 10 * 60 * 1000;

/**
 * Reads what the endpoint is doing: instance counts from DescribeEndpoint and the queue from
 * CloudWatch. (Async endpoints publish no instance-count metric, so DescribeEndpoint is the
 * source.)
 */
export class SageMakerEndpointProbe {
  private readonly now: Clock;

  constructor(private readonly props: SageMakerEndpointProbeProps) {
    this.now = props.now;
  }

  async status(): Promise<BackendCapacity> {
    const [endpoint, queueDepth] = await Promise.all([
      this.props.sagemaker.send(new DescribeEndpointCommand({ EndpointName: this.props.endpointName })),
      this.backlog(),
    ]);
    const variant = endpoint.ProductionVariants?.[0];
    const serverless = variant?.CurrentServerlessConfig !== undefined;
    const current = variant?.CurrentInstanceCount ?? 0;
    const desired = variant?.DesiredInstanceCount ?? current;
    const instances = { current, desired };
    const endpointStatus = endpoint.EndpointStatus;

    if (endpointStatus === 'Creating' || endpointStatus === 'SystemUpdating') {
      return { state: 'warming', instances, queueDepth };
    }
    // Serverless capacity is invisible: an InService endpoint answers, maybe after a short cold start.
    if (serverless) {
      return { state: endpointStatus === 'InService' ? 'warm' : 'cold', instances, queueDepth };
    }
    if (current > 0) return { state: 'warm', instances, queueDepth };
    if (desired > 0) {
      // A scale-out from zero updates the endpoint; its LastModifiedTime is when the boot began.
      const since = endpoint.LastModifiedTime?.getTime();
      const warmingForSeconds = since !== undefined ? Math.max(0, (this.now().getTime() - since) / 1000) : undefined;
      return { state: 'warming', instances, queueDepth, ...(warmingForSeconds !== undefined ? { warmingForSeconds } : {}) };
    }
    return { state: 'cold', instances, queueDepth };
  }

  /** Requests waiting or in progress; 0 when the metric cannot be read (the page still gets a state). */
  private async backlog(): Promise<number> {
    if (!this.props.cloudwatch) return 0;
    const end = this.now();
    try {
      const result = await this.props.cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(end.getTime() - BACKLOG_LOOKBACK_MS),
          EndTime: end,
          ScanBy: 'TimestampDescending',
          MaxDatapoints: 10,
          MetricDataQueries: [
            {
              Id: 'backlog',
              ReturnData: true,
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/SageMaker',
                  MetricName: 'ApproximateBacklogSize',
                  Dimensions: [{ Name: 'EndpointName', Value: this.props.endpointName }],
                },
                Period: 60,
                Stat: 'Maximum',
              },
            },
          ],
        }),
      );
      const latest = result.MetricDataResults?.[0]?.Values?.[0];
      return latest !== undefined && Number.isFinite(latest) ? Math.max(0, Math.round(latest)) : 0;
    } catch (error) {
      this.props.logger.warn('queue depth unavailable', { error: error as Error });
      return 0;
    }
  }
}

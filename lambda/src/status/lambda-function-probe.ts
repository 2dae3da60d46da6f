import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { BackendCapacity } from '../backends/backend';
import type { Clock } from '../clock';
import { LAMBDA_WARM_MINUTES } from '../../facts/status-defaults';

export interface LambdaFunctionProbeProps {
  readonly cloudwatch: CloudWatchClient;
  readonly functionName: string;
  /** Minutes after the last invocation during which the function counts as warm. @default LAMBDA_WARM_MINUTES (5) */
  readonly warmMinutes?: number;
  readonly now: Clock;
}

/** Lambda publishes its metrics once a minute; ten minutes covers late datapoints and the warm window. */
const LOOKBACK_MINUTES = 10;

/**
 * `/v1/status` for the Lambda engine, by this rule: **warm** if the function was invoked within
 * the last `warmMinutes` (an execution environment with the model loaded probably still exists),
 * else **cold** (the next request pays the cold start). Instances are the function's concurrent
 * executions; the queue is the asynchronous events Lambda received in the window that have not
 * started yet (received − invocations), which is where jobs wait once reserved concurrency is
 * reached. There is no "warming": Lambda starts an environment within the request.
 */
export class LambdaFunctionProbe {
  private readonly now: Clock;
  private readonly warmMinutes: number;

  constructor(private readonly props: LambdaFunctionProbeProps) {
    this.now = props.now;
    this.warmMinutes = props.warmMinutes ?? LAMBDA_WARM_MINUTES;
  }

  async status(): Promise<BackendCapacity> {
    const end = this.now();
    const start = new Date(end.getTime() - LOOKBACK_MINUTES * 60_000);
    const query = (id: string, metric: string, stat: string): MetricDataQuery => ({
      Id: id,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: 'AWS/Lambda', MetricName: metric, Dimensions: [{ Name: 'FunctionName', Value: this.props.functionName }] },
        Period: 60,
        Stat: stat,
      },
    });
    const result = await this.props.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          query('invocations', 'Invocations', 'Sum'),
          query('received', 'AsyncEventsReceived', 'Sum'),
          query('concurrent', 'ConcurrentExecutions', 'Maximum'),
        ],
      }),
    );
    const series = (id: string) => result.MetricDataResults?.find((entry) => entry.Id === id);
    const sum = (id: string) => (series(id)?.Values ?? []).reduce((total, value) => total + (Number.isFinite(value) ? value : 0), 0);
    const invocations = series('invocations');
    const lastInvoked = invocations?.Timestamps?.find((_, index) => (invocations.Values?.[index] ?? 0) > 0);
    const warm = lastInvoked !== undefined && end.getTime() - lastInvoked.getTime() <= this.warmMinutes * 60_000;
    const current = Math.max(0, Math.round(series('concurrent')?.Values?.[0] ?? 0));
    const queueDepth = Math.max(0, Math.round(sum('received') - sum('invocations')));
    return { state: warm || current > 0 ? 'warm' : 'cold', instances: { current, desired: current }, queueDepth: queueDepth + current };
  }
}

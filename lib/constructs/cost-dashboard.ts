import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE, REASON_DIMENSION, SERVICE_DIMENSION } from '../../lambda/facts/metrics';
import type { BackendMode } from '../config/deployment-config';
import { s3UsdPerImage } from '../cost/cost-model';
import { PRICE_REGION, PRICES as P } from '../cost/prices';
import { asyncEndpointMetric, endpointInstancesMetric, engineFunctionMetric } from './endpoint-metrics';
import { VARIANT_NAME } from './inference-endpoint';

/** The engine function of the lambda mode and what its time costs. */
export interface DashboardEngineFunction {
  /** By name: it lives in the backend stack. */
  readonly functionName: string;
  readonly memoryMb: number;
  /** USD per GB-second of its architecture. */
  readonly perGbSecondUsd: number;
}

export interface CostDashboardProps {
  readonly dashboardName: string;
  readonly mode: BackendMode;
  /** Required for the async and serverless modes. */
  readonly endpointName?: string;
  /** Required for the lambda mode. */
  readonly engineFunction?: DashboardEngineFunction;
  readonly gatewayFunction: lambda.IFunction;
  readonly gatewayMemoryMb: number;
  readonly apiName: string;
  /** The web ACL in front of the API. @default - none: no WAF widget or WAF cost */
  readonly webAclName?: string;
  readonly region: string;
  /** CloudFront metrics live in us-east-1 whatever the deployment's region. */
  readonly distributionId: string;
  readonly gpuHourlyPriceUsd: number;
  readonly serverlessMemoryMb: number;
  /** The idle floor of `npm run cost`, spread over the days of a month. */
  readonly idleMonthlyUsd: number;
  /** One wake-up of `npm run cost` (a cold start of the engine function in lambda mode), shown for reference. */
  readonly wakeUpUsd: number;
}

const DAY = Duration.days(1);

/** A price as metric math accepts it: plain decimals (no exponent, which math would read as a name). */
export function num(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return value.toFixed(15).replace(/0+$/, '').replace(/\.$/, '');
}
const HOUR = Duration.hours(1);

/** The engine's price in the dashboard's header, in the unit its mode bills. */
function engineCostSummary(props: CostDashboardProps): string {
  switch (props.mode) {
    case 'async':
      return `GPU $${props.gpuHourlyPriceUsd}/instance-hour, about $${props.wakeUpUsd.toFixed(3)} per wake-up from zero`;
    case 'serverless':
      return `SageMaker serverless $${P.sagemakerServerlessPerGbSecond}/GB-second at ${props.serverlessMemoryMb} MB`;
    case 'lambda':
      return (
        `engine function $${props.engineFunction!.perGbSecondUsd}/GB-second at ${props.engineFunction!.memoryMb} MB, ` +
        `about $${props.wakeUpUsd.toFixed(3)} per cold start`
      );
    case 'external':
      return 'the external engine is billed elsewhere';
  }
}

/**
 * The operator's view: traffic, generation time, queue, instances, WAF blocks, errors, and the
 * estimated dollars per day and per image, computed with the same prices as `npm run cost`.
 */
export class CostDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CostDashboardProps) {
    super(scope, id);
    const sagemaker = props.mode === 'async' || props.mode === 'serverless';
    if (sagemaker && !props.endpointName) throw new Error(`endpointName is required for the ${props.mode} backend mode`);
    if (props.mode === 'lambda' && !props.engineFunction) throw new Error('engineFunction is required for the lambda backend mode');
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
    });

    const gateway = (metricName: string, statistic: string, period: Duration, label?: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION.name]: SERVICE_DIMENSION.value },
        statistic,
        period,
        label,
      });

    const costs = this.dailyCost(props, gateway(METRIC_NAMES.imagesCompleted, cloudwatch.Stats.SUM, DAY));

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 3,
        markdown: [
          '## serverless-diffusion: cost and operations',
          `Estimated dollars use ${PRICE_REGION} on-demand list prices (\`lib/cost/prices.ts\`, the same as \`npm run cost\`): ` +
            `${engineCostSummary(props)}, idle floor $${props.idleMonthlyUsd.toFixed(2)}/month ` +
            '(WAF, secret, alarms, dashboard, storage). ' +
            'S3 costs are derived from completed images; CloudFront is shown apart (its metrics are global).',
        ].join('\n\n'),
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Estimated USD per day',
        width: 12,
        stacked: true,
        left: costs.parts,
        leftYAxis: { min: 0, label: 'USD', showUnits: false },
      }),
      new cloudwatch.GraphWidget({
        title: 'Estimated USD per image (per day)',
        width: 8,
        left: [costs.perImage],
        leftYAxis: { min: 0, label: 'USD', showUnits: false },
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Estimated USD, last 24 h',
        width: 4,
        metrics: [costs.total],
        fullPrecision: false,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Images per hour',
        width: 12,
        left: [
          gateway(METRIC_NAMES.imagesRequested, cloudwatch.Stats.SUM, HOUR, 'requested'),
          gateway(METRIC_NAMES.imagesAccepted, cloudwatch.Stats.SUM, HOUR, 'accepted'),
          gateway(METRIC_NAMES.imagesCompleted, cloudwatch.Stats.SUM, HOUR, 'completed'),
          gateway(METRIC_NAMES.imagesFailed, cloudwatch.Stats.SUM, HOUR, 'failed'),
          gateway(METRIC_NAMES.imagesWithheld, cloudwatch.Stats.SUM, HOUR, 'withheld (content filter)'),
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},${REASON_DIMENSION},${SERVICE_DIMENSION.name}} MetricName="${METRIC_NAMES.imagesRejected}"', 'Sum', 3600)`,
            label: 'rejected',
            period: HOUR,
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Generation time (seconds)',
        width: 12,
        left: [
          gateway(METRIC_NAMES.generationSeconds, cloudwatch.Stats.AVERAGE, Duration.minutes(5), 'average'),
          gateway(METRIC_NAMES.generationSeconds, cloudwatch.Stats.percentile(90), Duration.minutes(5), 'p90'),
        ],
      }),
    );

    if (props.mode === 'async' && props.endpointName) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Queue depth',
          width: 12,
          left: [
            asyncEndpointMetric('ApproximateBacklogSize', props.endpointName).with({ label: 'waiting or running' }),
          ],
          right: [
            asyncEndpointMetric('ApproximateAgeOfOldestRequest', props.endpointName).with({ label: 'oldest request (s)' }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: 'GPU instances',
          width: 12,
          left: [endpointInstancesMetric(props.endpointName).with({ label: 'instances' })],
          right: [
            asyncEndpointMetric('HasBacklogWithoutCapacity', props.endpointName).with({ label: 'waiting with no instance' }),
          ],
          leftYAxis: { min: 0 },
        }),
      );
    } else if (props.mode === 'lambda' && props.engineFunction) {
      const { functionName } = props.engineFunction;
      const five = Duration.minutes(5);
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Engine function: runs',
          width: 12,
          left: [
            engineFunctionMetric('Invocations', functionName, { label: 'invocations' }),
            engineFunctionMetric('Errors', functionName, { label: 'errors (crash, out of memory)' }),
            engineFunctionMetric('Throttles', functionName, { label: 'throttled (every slot busy; the event waits)' }),
          ],
          right: [
            engineFunctionMetric('Duration', functionName, { statistic: cloudwatch.Stats.AVERAGE, period: five, label: 'duration average (ms)' }),
            engineFunctionMetric('Duration', functionName, { statistic: cloudwatch.Stats.MAXIMUM, period: five, label: 'duration max (ms)' }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: "Engine function: concurrency and Lambda's queue",
          width: 12,
          left: [
            engineFunctionMetric('ConcurrentExecutions', functionName, { statistic: cloudwatch.Stats.MAXIMUM, label: 'running' }),
            engineFunctionMetric('AsyncEventsReceived', functionName, { label: 'events received' }),
            engineFunctionMetric('AsyncEventsDropped', functionName, { label: 'events dropped' }),
          ],
          right: [engineFunctionMetric('AsyncEventAge', functionName, { statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest wait (ms)' })],
          leftYAxis: { min: 0 },
        }),
      );
    } else if (props.mode === 'serverless' && props.endpointName) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Serverless endpoint',
          width: 24,
          left: [this.variantMetric(props.endpointName, 'Invocations', cloudwatch.Stats.SUM, Duration.minutes(5))],
          right: [this.variantMetric(props.endpointName, 'ModelLatency', cloudwatch.Stats.AVERAGE, Duration.minutes(5))],
        }),
      );
    }

    const waf = (webAclName: string, metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/WAFV2',
        metricName,
        dimensionsMap: { WebACL: webAclName, Region: props.region, Rule: 'ALL' },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
        label,
      });
    const api = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiName: props.apiName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
        label,
      });
    const webAclName = props.webAclName;
    this.dashboard.addWidgets(
      ...(webAclName
        ? [
            new cloudwatch.GraphWidget({
              title: 'WAF requests',
              width: 8,
              left: [waf(webAclName, 'BlockedRequests', 'blocked'), waf(webAclName, 'AllowedRequests', 'allowed')],
            }),
          ]
        : []),
      new cloudwatch.GraphWidget({
        title: 'Gateway errors',
        width: webAclName ? 8 : 16,
        left: [
          props.gatewayFunction.metricErrors({ period: Duration.minutes(5), label: 'Lambda errors' }),
          props.gatewayFunction.metricThrottles({ period: Duration.minutes(5), label: 'Lambda throttles' }),
          api('5XXError', 'API 5xx'),
          api('4XXError', 'API 4xx'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'CloudFront (us-east-1): requests and estimated USD per day',
        width: 8,
        left: [this.cloudFront(props.distributionId, 'Requests', 'requests')],
        right: [
          new cloudwatch.MathExpression({
            label: 'USD',
            expression: `req * ${num(P.cloudFrontPerTenThousandHttpsRequests / 10_000)} + bytes * ${num(P.cloudFrontPerGbOut / 1e9)}`,
            usingMetrics: {
              req: this.cloudFront(props.distributionId, 'Requests', 'requests'),
              bytes: this.cloudFront(props.distributionId, 'BytesDownloaded', 'bytes'),
            },
            period: DAY,
            searchRegion: 'us-east-1',
          }),
        ],
      }),
    );
  }

  /** USD per day of each priced service, their total, and the total per completed image. */
  private dailyCost(props: CostDashboardProps, imagesCompleted: cloudwatch.Metric) {
    const lambdaGb = props.gatewayMemoryMb / 1024;
    const requests = props.gatewayFunction.metricInvocations({ period: DAY, statistic: cloudwatch.Stats.SUM });
    const durationMs = props.gatewayFunction.metricDuration({ period: DAY, statistic: cloudwatch.Stats.SUM });
    const apiCount = new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: 'Count',
      dimensionsMap: { ApiName: props.apiName },
      statistic: cloudwatch.Stats.SUM,
      period: DAY,
    });
    const wafRequests = (webAclName: string, metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/WAFV2',
        metricName,
        dimensionsMap: { WebACL: webAclName, Region: props.region, Rule: 'ALL' },
        statistic: cloudwatch.Stats.SUM,
        period: DAY,
      });
    const s3PerImage = s3UsdPerImage();

    const parts: cloudwatch.MathExpression[] = [];
    const part = (id: string, label: string, expression: string, usingMetrics: Record<string, cloudwatch.IMetric>) => {
      const metric = new cloudwatch.MathExpression({ label, expression, usingMetrics, period: DAY });
      parts.push(metric);
      return [id, metric] as const;
    };
    const terms = [
      part('fixed', 'fixed (idle floor)', `FILL(req, 0) * 0 + ${num(props.idleMonthlyUsd / 30)}`, { req: requests }),
      part('lambda', 'Lambda', `FILL(req, 0) * ${num(P.lambdaPerMillionRequests / 1e6)} + FILL(dur, 0) * ${num((lambdaGb * P.lambdaPerGbSecond) / 1000)}`, {
        req: requests,
        dur: durationMs,
      }),
      part('apigw', 'API Gateway', `FILL(cnt, 0) * ${num(P.apiGatewayRestPerMillionRequests / 1e6)}`, { cnt: apiCount }),
      ...(props.webAclName
        ? [
            part('waf', 'WAF requests', `(FILL(allowed, 0) + FILL(blocked, 0)) * ${num(P.wafPerMillionRequests / 1e6)}`, {
              allowed: wafRequests(props.webAclName, 'AllowedRequests'),
              blocked: wafRequests(props.webAclName, 'BlockedRequests'),
            }),
          ]
        : []),
      part('s3', 'S3 (from images)', `FILL(images, 0) * ${num(s3PerImage)}`, { images: imagesCompleted }),
    ];
    if (props.mode === 'async' && props.endpointName) {
      // Average instances over a day times 24 hours is instance-hours, however often it was sampled.
      terms.push(
        part('gpu', 'GPU instances', `FILL(instances, 0) * ${num(24 * props.gpuHourlyPriceUsd)}`, {
          instances: endpointInstancesMetric(props.endpointName, { statistic: cloudwatch.Stats.AVERAGE, period: DAY }),
        }),
      );
    } else if (props.mode === 'lambda' && props.engineFunction) {
      // Duration is in milliseconds; cold starts are inside it (the model loads in the first run).
      const engine = props.engineFunction;
      terms.push(
        part(
          'engine',
          'Engine function',
          `FILL(runs, 0) * ${num(P.lambdaPerMillionRequests / 1e6)} + FILL(ms, 0) * ${num(((engine.memoryMb / 1024) * engine.perGbSecondUsd) / 1000)}`,
          {
            runs: engineFunctionMetric('Invocations', engine.functionName, { period: DAY }),
            ms: engineFunctionMetric('Duration', engine.functionName, { period: DAY }),
          },
        ),
      );
    } else if (props.mode === 'serverless' && props.endpointName) {
      // ModelLatency is in microseconds; serverless bills memory for the processing time.
      terms.push(
        part(
          'serverless',
          'SageMaker serverless',
          `FILL(latency, 0) * ${num(((props.serverlessMemoryMb / 1024) * P.sagemakerServerlessPerGbSecond) / 1e6)}`,
          { latency: this.variantMetric(props.endpointName, 'ModelLatency', cloudwatch.Stats.SUM, DAY) },
        ),
      );
    }
    const usingMetrics = Object.fromEntries(terms);
    const total = new cloudwatch.MathExpression({
      label: 'USD per day',
      expression: Object.keys(usingMetrics).join(' + '),
      usingMetrics,
      period: DAY,
    });
    const perImage = new cloudwatch.MathExpression({
      label: 'USD per image',
      expression: 'IF(images > 0, total / images, 0)',
      usingMetrics: { total, images: imagesCompleted },
      period: DAY,
    });
    return { parts, total, perImage };
  }

  private variantMetric(endpointName: string, metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      dimensionsMap: { EndpointName: endpointName, VariantName: VARIANT_NAME },
      statistic,
      period,
    });
  }

  private cloudFront(distributionId: string, metricName: string, label: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/CloudFront',
      metricName,
      dimensionsMap: { DistributionId: distributionId, Region: 'Global' },
      statistic: cloudwatch.Stats.SUM,
      period: DAY,
      region: 'us-east-1',
      label,
    });
  }
}

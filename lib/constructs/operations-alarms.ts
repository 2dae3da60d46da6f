import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC_NAMES, METRICS_NAMESPACE, SERVICE_DIMENSION } from '../../lambda/facts/metrics';
import type { BackendMode } from '../config/deployment-config';
import { asyncEndpointMetric, engineFunctionMetric, type EngineFunctionMetricName } from './endpoint-metrics';

/** Requests waiting per instance that count as a backlog that is not being worked off. */
const BACKLOG_PER_INSTANCE_ALARM = 20;
/** Longer than any cold start: requests wait, and still no instance runs. */
const WAKE_UP_STALL_MINUTES = 20;
/** Minutes an event may wait in Lambda's queue before the reserved concurrency counts as too low. */
const ENGINE_QUEUE_MINUTES = 15;
/** The share of the engine function's timeout a run may take before it counts as too close. */
const NEAR_TIMEOUT_SHARE = 0.9;

/** The alarms created for a backend mode, in the order the construct creates them. */
export function operationsAlarmNames(mode: BackendMode): string[] {
  const common = ['GenerationFailures', 'GatewayErrors'];
  switch (mode) {
    case 'async':
      return ['BacklogGrowing', 'WakeUpStalled', 'EndpointFailures', ...common];
    case 'lambda':
      return ['EngineFunctionErrors', 'EngineQueueWaiting', 'EngineNearTimeout', ...common];
    default:
      return common;
  }
}

export interface AsyncEndpointAlarmTargets {
  readonly endpointName: string;
  /** The endpoint's error notification topic. */
  readonly errorTopic: sns.ITopic;
  readonly maxInstances: number;
}

/** The engine function of the lambda mode, by name (it lives in another stack). */
export interface EngineFunctionAlarmTargets {
  readonly functionName: string;
  readonly timeoutSeconds: number;
}

export interface OperationsAlarmsProps {
  readonly mode: BackendMode;
  readonly gatewayFunction: lambda.IFunction;
  /** Required for the async mode. */
  readonly asyncEndpoint?: AsyncEndpointAlarmTargets;
  /** Required for the lambda mode. */
  readonly engineFunction?: EngineFunctionAlarmTargets;
  /** Where alarms are sent. */
  readonly alertTopic: sns.ITopic;
}

/**
 * Alarms for a growing backlog, a wake-up that never happens (async), an engine function that
 * fails, keeps requests waiting or nears its timeout (lambda), and failures; sent to the alert topic.
 */
export class OperationsAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const endpoint = props.asyncEndpoint;
    if (props.mode === 'async' && !endpoint) throw new Error('asyncEndpoint is required for the async backend mode');
    const engine = props.engineFunction;
    if (props.mode === 'lambda' && !engine) throw new Error('engineFunction is required for the lambda backend mode');
    const engineMetric = (metricName: EngineFunctionMetricName, statistic: string, period: Duration) =>
      engineFunctionMetric(metricName, engine!.functionName, { statistic, period });
    const create: Record<string, () => cloudwatch.AlarmProps> = {
      BacklogGrowing: () => ({
        alarmDescription: 'Requests pile up faster than the instances work them off for 15 minutes.',
        metric: asyncEndpointMetric('ApproximateBacklogSize', endpoint!.endpointName, {
          statistic: cloudwatch.Stats.AVERAGE,
          period: Duration.minutes(5),
        }),
        threshold: BACKLOG_PER_INSTANCE_ALARM * endpoint!.maxInstances,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
      }),
      WakeUpStalled: () => ({
        alarmDescription: `Requests have waited ${WAKE_UP_STALL_MINUTES} minutes with no instance running: check the endpoint events and the service quota for the instance type.`,
        metric: asyncEndpointMetric('HasBacklogWithoutCapacity', endpoint!.endpointName, {
          statistic: cloudwatch.Stats.MINIMUM,
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: WAKE_UP_STALL_MINUTES / 5,
      }),
      EndpointFailures: () => ({
        alarmDescription: 'The engine failed several inferences within 15 minutes (async error notifications).',
        metric: endpoint!.errorTopic.metricNumberOfMessagesPublished({ period: Duration.minutes(15), statistic: cloudwatch.Stats.SUM }),
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      EngineFunctionErrors: () => ({
        alarmDescription:
          "The engine function crashed, ran out of memory or was stopped at its timeout (Lambda's Errors; the on-failure recorder failed the job): see its log group.",
        metric: engineMetric('Errors', cloudwatch.Stats.SUM, Duration.minutes(15)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      EngineQueueWaiting: () => ({
        alarmDescription: `Requests waited over ${ENGINE_QUEUE_MINUTES} minutes in Lambda's queue: more arrive than backend.maxInstances generations at once work off.`,
        // AsyncEventAge is in milliseconds, reported when a queued event starts.
        metric: engineMetric('AsyncEventAge', cloudwatch.Stats.MAXIMUM, Duration.minutes(5)),
        threshold: ENGINE_QUEUE_MINUTES * 60 * 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      EngineNearTimeout: () => ({
        alarmDescription: `A generation took over ${NEAR_TIMEOUT_SHARE * 100}% of the engine function's ${engine!.timeoutSeconds} s timeout; longer ones fail with timeout. Measure with npm run bench:cpu and set backend.lambdaSecondsPerStep.`,
        metric: engineMetric('Duration', cloudwatch.Stats.MAXIMUM, Duration.minutes(15)),
        threshold: Math.round(NEAR_TIMEOUT_SHARE * engine!.timeoutSeconds * 1000),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      GenerationFailures: () => ({
        alarmDescription: 'Several images failed within 15 minutes, as the gateway reports them.',
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: METRIC_NAMES.imagesFailed,
          dimensionsMap: { [SERVICE_DIMENSION.name]: SERVICE_DIMENSION.value },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(15),
        }),
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      GatewayErrors: () => ({
        alarmDescription: 'The gateway function failed (unhandled errors or timeouts) several times within 5 minutes.',
        metric: props.gatewayFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
    };
    const action = new cloudwatchActions.SnsAction(props.alertTopic);
    for (const name of operationsAlarmNames(props.mode)) {
      const alarm = new cloudwatch.Alarm(this, name, {
        ...create[name](),
        // No data means no traffic, which is the normal state of a site that sleeps.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    }
  }
}

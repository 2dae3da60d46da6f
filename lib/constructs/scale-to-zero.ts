import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { asyncEndpointMetric } from './endpoint-metrics';

/** Alarms billed for scaling: wake and idle here, plus the two that target tracking creates. */
export const SCALE_TO_ZERO_ALARM_COUNT = 4;

export interface ScaleToZeroProps {
  readonly endpointName: string;
  readonly variantName: string;
  /** Resources the scalable target must wait for (the endpoint). */
  readonly dependsOn: IDependable;
  readonly maxInstances: number;
  /** Queued requests per instance that target tracking aims at between 1 and max. */
  readonly backlogPerInstanceTarget: number;
  /** Minutes with an empty queue (nothing waiting, nothing running) before going back to zero. */
  readonly idleMinutes: number;
}

/**
 * Scales an async endpoint between zero and `maxInstances`:
 * - wake: an alarm on HasBacklogWithoutCapacity adds an instance when requests wait and none run;
 * - size: target tracking on ApproximateBacklogSizePerInstance between 1 and max;
 * - sleep: an alarm on ApproximateBacklogSize = 0 for `idleMinutes` sets the count to zero, because
 *   target tracking's own scale-in waits about 15 minutes and every wake-up would bill that too.
 *   Missing data counts as idle: a new endpoint that never got a request has no backlog series
 *   at all, and it must still fall to zero.
 */
export class ScaleToZero extends Construct {
  public readonly target: appscaling.ScalableTarget;
  public readonly wakeAlarm: cloudwatch.Alarm;
  public readonly idleAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ScaleToZeroProps) {
    super(scope, id);
    if (props.maxInstances < 1) throw new Error(`maxInstances must be at least 1 but is ${props.maxInstances}`);
    if (props.idleMinutes < 1) throw new Error(`idleMinutes must be at least 1 but is ${props.idleMinutes}`);

    this.target = new appscaling.ScalableTarget(this, 'Target', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: `endpoint/${props.endpointName}/variant/${props.variantName}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: 0,
      maxCapacity: props.maxInstances,
      role: iam.Role.fromRoleArn(this, 'ServiceLinkedRole', serviceLinkedRoleArn(this), { mutable: false }),
    });
    // Without RoleARN, Application Auto Scaling uses (and creates on first use) its service-linked
    // role for SageMaker, which has exactly the permissions scaling needs.
    (this.target.node.defaultChild as appscaling.CfnScalableTarget).addPropertyDeletionOverride('RoleARN');
    this.target.node.addDependency(props.dependsOn);

    this.target.scaleToTrackMetric('BacklogPerInstance', {
      customMetric: asyncEndpointMetric('ApproximateBacklogSizePerInstance', props.endpointName, {
        statistic: cloudwatch.Stats.AVERAGE,
      }),
      targetValue: props.backlogPerInstanceTarget,
      scaleOutCooldown: Duration.minutes(5),
      scaleInCooldown: Duration.minutes(10),
    });

    const wake = new appscaling.StepScalingAction(this, 'Wake', {
      scalingTarget: this.target,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      // Booting takes minutes; do not add another instance for the same backlog meanwhile.
      cooldown: Duration.minutes(5),
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    });
    wake.addAdjustment({ adjustment: 1, lowerBound: 0 });
    this.wakeAlarm = new cloudwatch.Alarm(this, 'WakeAlarm', {
      alarmDescription: 'Requests are waiting and no instance is running: start one.',
      metric: asyncEndpointMetric('HasBacklogWithoutCapacity', props.endpointName),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.wakeAlarm.addAlarmAction(new cloudwatchActions.ApplicationScalingAction(wake));

    const sleep = new appscaling.StepScalingAction(this, 'Sleep', {
      scalingTarget: this.target,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    });
    // Two steps that together cover every value (the breach is metric minus threshold, and with
    // missing data there is no metric): whatever the alarm reports, go to zero.
    sleep.addAdjustment({ adjustment: 0, upperBound: 0 });
    sleep.addAdjustment({ adjustment: 0, lowerBound: 0 });
    this.idleAlarm = new cloudwatch.Alarm(this, 'IdleAlarm', {
      alarmDescription: `Nothing waiting or running for ${props.idleMinutes} minutes: stop all instances.`,
      metric: asyncEndpointMetric('ApproximateBacklogSize', props.endpointName),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: props.idleMinutes,
      datapointsToAlarm: props.idleMinutes,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.idleAlarm.addAlarmAction(new cloudwatchActions.ApplicationScalingAction(sleep));
  }
}

function serviceLinkedRoleArn(scope: Construct): string {
  return Stack.of(scope).formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName:
      'aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
  });
}

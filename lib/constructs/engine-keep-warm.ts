import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { EngineWarmUpEvent } from '../../contract/engine-invocation';
import { describeKeepWarm, keepWarmCron, keepWarmWindowProblem, type KeepWarmSchedule } from '../config/keep-warm';

export interface EngineKeepWarmProps {
  /** The engine function (lambda mode); the pings go to its unqualified name, as the gateway's jobs do. */
  readonly engineFunction: lambda.IFunction;
  /** When to ping: `backend.keepWarm` with its defaults (every 5 minutes, daily) applied. */
  readonly schedule: KeepWarmSchedule;
}

/**
 * Pings the engine function with the gateway's warm-up event on a cron schedule, so an execution
 * environment with the model loaded is waiting in those hours. A warm environment answers a ping
 * in milliseconds; a fresh one stages the model and creates the sessions (a cold start), once at
 * the window's start and again whenever Lambda has recycled it.
 *
 * EventBridge invokes asynchronously, so a ping joins the jobs in the function's own queue, under
 * its reserved concurrency and its invoke settings (no retry, six hours' age). While every slot is
 * generating, the ping waits and then runs on the environment that has just finished: warm, so it
 * returns at once, and it cannot start another environment while no slot is free. With
 * `maxInstances` above 1 a ping that finds a free slot but no idle environment does start one,
 * which the next visitor then finds warm. A ping that has to wait out the six hours (the budget
 * action set the concurrency to 0) reaches the on-failure recorder, which logs and drops it.
 *
 * EventBridge's own delivery is not retried (`retryAttempts: 0`, and an age limit of one interval):
 * a ping that Lambda did not accept is not worth a late copy, the next is at most one interval away.
 */
export class EngineKeepWarm extends Construct {
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: EngineKeepWarmProps) {
    super(scope, id);
    const { schedule } = props;
    const problem = keepWarmWindowProblem(schedule);
    if (problem) throw new Error(`backend.keepWarm: ${problem}`);
    if (!Number.isInteger(schedule.everyMinutes) || schedule.everyMinutes < 1 || schedule.everyMinutes > 60) {
      throw new Error(`backend.keepWarm.everyMinutes must be a whole number from 1 to 60 but is ${schedule.everyMinutes}`);
    }
    const ping: EngineWarmUpEvent = { warmup: true };
    this.rule = new events.Rule(this, 'Rule', {
      description: `Keeps the engine function warm: its warm-up event ${describeKeepWarm(schedule)}`,
      schedule: events.Schedule.cron(keepWarmCron(schedule)),
      targets: [
        new targets.LambdaFunction(props.engineFunction, {
          event: events.RuleTargetInput.fromObject(ping),
          retryAttempts: 0,
          maxEventAge: Duration.minutes(schedule.everyMinutes),
        }),
      ],
    });
  }
}

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { keepWarmCron, keepWarmPingsPerDay, type KeepWarmSchedule } from '../../lib/config/keep-warm';
import { EngineKeepWarm } from '../../lib/constructs/engine-keep-warm';

/** The rule's schedule expression for a schedule, from the construct in a stack of its own (no assets: fast). */
function scheduleExpression(schedule: KeepWarmSchedule): string {
  const stack = new Stack(new App(), 'KeepWarm');
  const engineFunction = new lambda.Function(stack, 'Engine', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  new EngineKeepWarm(stack, 'KeepWarm', { engineFunction, schedule });
  const [rule] = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'));
  return rule.Properties.ScheduleExpression;
}

/** Pings a cron minute field and hour range give on one day, counted the way EventBridge fires them. */
function firedPerDay(schedule: KeepWarmSchedule): number {
  const { minute, hour } = keepWarmCron(schedule);
  const [first, last = first] = hour!.split('-').map(Number);
  const step = minute === '0' ? 60 : Number(minute!.split('/')[1]);
  let count = 0;
  for (let h = first; h <= last; h += 1) for (let m = 0; m < 60; m += step) count += 1;
  return count;
}

const daily = (fromHourUtc: number, toHourUtc: number, everyMinutes = 5): KeepWarmSchedule => ({ fromHourUtc, toHourUtc, everyMinutes, days: 'daily' });

describe('the keep-warm schedule', () => {
  test.each<[string, KeepWarmSchedule, string]>([
    ['a working day', daily(8, 20), 'cron(0/5 8-19 * * ? *)'],
    ['one hour, hourly', daily(23, 24, 60), 'cron(0 23 * * ? *)'],
    ['all day, every minute', daily(0, 24, 1), 'cron(0/1 0-23 * * ? *)'],
    ['weekdays', { ...daily(6, 9, 10), days: 'weekdays' }, 'cron(0/10 6-8 ? * MON-FRI *)'],
  ])('%s', (_name, schedule, expression) => {
    expect(scheduleExpression(schedule)).toBe(expression);
  });

  test('the cost counts the pings the cron fires, an interval that does not divide the hour included', () => {
    for (const schedule of [daily(8, 20), daily(23, 24, 60), daily(0, 24, 1), daily(9, 12, 7), daily(9, 10, 45)]) {
      expect(keepWarmPingsPerDay(schedule)).toBe(firedPerDay(schedule));
    }
    // :00, :07 ... :56 each hour: nine pings, the last gap four minutes.
    expect(keepWarmPingsPerDay(daily(9, 10, 7))).toBe(9);
  });

  test('refuses a window that does not end after it starts, and an interval outside 1-60 minutes', () => {
    expect(() => scheduleExpression(daily(20, 8))).toThrow('backend.keepWarm: fromHourUtc (20) must be before toHourUtc (8)');
    expect(() => scheduleExpression(daily(8, 20, 0))).toThrow('backend.keepWarm.everyMinutes must be a whole number from 1 to 60 but is 0');
  });
});

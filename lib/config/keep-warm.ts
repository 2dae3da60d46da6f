import type { CronOptions } from 'aws-cdk-lib/aws-events';

/** Which UTC days the engine function is kept warm: all seven, or Monday to Friday. */
export const KEEP_WARM_DAYS = ['daily', 'weekdays'] as const;
export type KeepWarmDays = (typeof KEEP_WARM_DAYS)[number];

/** `backend.keepWarm` with its defaults applied: when the engine function is pinged (lambda mode). */
export interface KeepWarmSchedule {
  /** First UTC hour of the window, 0-23: the first ping goes out at its minute 0. */
  readonly fromHourUtc: number;
  /** UTC hour the window ends, 1-24, not included: the last ping is in the hour before. */
  readonly toHourUtc: number;
  /** Minutes between pings, 1-60, counted afresh from minute 0 of every hour. */
  readonly everyMinutes: number;
  readonly days: KeepWarmDays;
}

/**
 * Why a window is refused, or undefined. A window stays within one UTC day: one that wraps past
 * midnight would need two cron rules, and `toHourUtc: 24` already reaches the day's end.
 */
export function keepWarmWindowProblem(schedule: Pick<KeepWarmSchedule, 'fromHourUtc' | 'toHourUtc'>): string | undefined {
  if (schedule.fromHourUtc < schedule.toHourUtc) return undefined;
  return (
    `fromHourUtc (${schedule.fromHourUtc}) must be before toHourUtc (${schedule.toHourUtc}): ` +
    'the window is UTC hours within one day, toHourUtc not included (0 to 24 is all day)'
  );
}

/**
 * The pings as EventBridge cron fields. The minutes restart at each hour (`0/n`), so an interval
 * that does not divide 60 leaves a shorter gap before every full hour; `keepWarmPingsPerDay`
 * counts exactly these.
 */
export function keepWarmCron(schedule: KeepWarmSchedule): CronOptions {
  const lastHour = schedule.toHourUtc - 1;
  return {
    minute: schedule.everyMinutes >= 60 ? '0' : `0/${schedule.everyMinutes}`,
    hour: lastHour === schedule.fromHourUtc ? `${lastHour}` : `${schedule.fromHourUtc}-${lastHour}`,
    ...(schedule.days === 'weekdays' ? { weekDay: 'MON-FRI' } : {}),
  };
}

/** Pings on a day the window applies to: the cron's minutes in each hour of the window. */
export function keepWarmPingsPerDay(schedule: KeepWarmSchedule): number {
  return (schedule.toHourUtc - schedule.fromHourUtc) * Math.ceil(60 / schedule.everyMinutes);
}

/** Days a week the window applies to. */
export function keepWarmDaysPerWeek(days: KeepWarmDays): number {
  return days === 'weekdays' ? 5 : 7;
}

/** The schedule in words, for the rule's description and the cost report: `08-20 UTC weekdays, every 5 min`. */
export function describeKeepWarm(schedule: KeepWarmSchedule): string {
  const hour = (value: number) => String(value).padStart(2, '0');
  return `${hour(schedule.fromHourUtc)}-${hour(schedule.toHourUtc)} UTC ${schedule.days}, every ${schedule.everyMinutes} min`;
}

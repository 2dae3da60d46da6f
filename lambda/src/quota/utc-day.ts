/** The daily budgets (image quotas, GPU time) all reset at 00:00 UTC. */

export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

/** Whole seconds until the next midnight, at least 1: the `Retry-After` of a daily refusal. */
export function secondsUntilMidnight(now: Date): number {
  return Math.max(1, Math.ceil((nextUtcMidnight(now).getTime() - now.getTime()) / 1000));
}

export function hhmm(date: Date): string {
  return date.toISOString().slice(11, 16);
}

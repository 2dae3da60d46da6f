/**
 * Delays between polls of a job: quick at first (a warm endpoint answers in seconds), then slower
 * so a visitor waiting out a cold start does not hammer the API.
 */
export interface BackoffOptions {
  /** @default 1000 */
  readonly initialMs?: number;
  /** @default 1.5 */
  readonly factor?: number;
  /** @default 5000 */
  readonly maxMs?: number;
}

/** The delay before poll number `attempt` (0-based). */
export function pollDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 1000;
  const factor = options.factor ?? 1.5;
  const max = options.maxMs ?? 5000;
  return Math.min(max, Math.round(initial * factor ** Math.max(0, attempt)));
}

/** A scheduler configuration that diffusers would accept but this engine cannot run, or that is invalid. */
export class SchedulerConfigError extends Error {
  constructor(
    /** The `scheduler_config.json` key at fault. */
    readonly key: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`scheduler config \`${key}\` = ${describe(value)}: ${reason}`);
    this.name = 'SchedulerConfigError';
  }
}

/** A scheduler called out of order or with arguments that do not fit its schedule. */
export class SchedulerUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerUsageError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return JSON.stringify(value) ?? String(value);
}

// Shared with the deploy, which reads a model's default scheduler at synth.
export { SchedulerConfigError } from '../../../../contract/scheduler-classes';

/** A scheduler called out of order or with arguments that do not fit its schedule. */
export class SchedulerUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerUsageError';
  }
}

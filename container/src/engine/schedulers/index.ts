import { SCHEDULER_NAMES, type SchedulerName } from '../../../../contract/limits';
import { resolveSchedulerConfig } from './config';
import { SchedulerConfigError } from './errors';
import { DdimScheduler } from './ddim';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep';
import { EulerScheduler } from './euler';
import { EulerAncestralScheduler } from './euler-ancestral';
import { LcmScheduler } from './lcm';
import { LmsScheduler } from './lms';
import { PndmScheduler } from './pndm';
import type { Scheduler, SchedulerConfigJson } from './scheduler';

export type { NoiseSource, Scheduler, SchedulerConfigJson, SchedulerStepOptions, SchedulerStepOutput } from './scheduler';
export { resolveSchedulerConfig, schedulerNameForConfig } from './config';
export { SchedulerConfigError, SchedulerUsageError } from './errors';
export { parseSchedulerConfig } from './python-json';

/**
 * A fresh scheduler `name`, configured from the model's `scheduler_config.json` the way diffusers'
 * `from_config` would (see `resolveSchedulerConfig`). Cheap enough to create per request.
 * @throws SchedulerConfigError naming the key when the model's configuration cannot run here
 */
export function createScheduler(name: SchedulerName, modelConfig: SchedulerConfigJson): Scheduler {
  switch (name) {
    case 'pndm':
      return new PndmScheduler(resolveSchedulerConfig(name, modelConfig));
    case 'ddim':
      return new DdimScheduler(resolveSchedulerConfig(name, modelConfig));
    case 'euler':
      return new EulerScheduler(resolveSchedulerConfig(name, modelConfig));
    case 'euler_ancestral':
      return new EulerAncestralScheduler(resolveSchedulerConfig(name, modelConfig));
    case 'dpmpp_2m':
    case 'dpmpp_2m_karras':
      return new DpmSolverMultistepScheduler(resolveSchedulerConfig(name, modelConfig));
    case 'lms':
      return new LmsScheduler(resolveSchedulerConfig(name, modelConfig));
    case 'lcm':
      return new LcmScheduler(resolveSchedulerConfig(name, modelConfig));
  }
  // Reached only from untyped callers.
  throw new SchedulerConfigError('scheduler', name, `unknown scheduler name; expected one of ${SCHEDULER_NAMES.join(', ')}`);
}

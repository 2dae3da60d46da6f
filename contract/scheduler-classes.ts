import type { SchedulerName } from './limits';

/**
 * The diffusers scheduler class each API scheduler name runs, as a model's
 * `scheduler/scheduler_config.json` names it in `_class_name`, and what the name itself fixes over
 * the file. The engine configures its schedulers from this table; the deploy reads a model's
 * default scheduler with it at synth, so both name the same one.
 */
export const SCHEDULER_CLASSES = {
  pndm: { className: 'PNDMScheduler' },
  ddim: { className: 'DDIMScheduler' },
  euler: { className: 'EulerDiscreteScheduler' },
  euler_ancestral: { className: 'EulerAncestralDiscreteScheduler' },
  dpmpp_2m: { className: 'DPMSolverMultistepScheduler', fixes: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: false } },
  dpmpp_2m_karras: {
    className: 'DPMSolverMultistepScheduler',
    fixes: { algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: true },
  },
  lms: { className: 'LMSDiscreteScheduler' },
  lcm: { className: 'LCMScheduler' },
} as const satisfies { readonly [N in SchedulerName]: { readonly className: string; readonly fixes?: Readonly<Record<string, unknown>> } };

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

/**
 * Our name for the scheduler a model ships as its default (`_class_name` of its
 * `scheduler_config.json`), so requests that name none run as diffusers would.
 * @throws SchedulerConfigError when the class has no equivalent here
 */
export function schedulerNameForConfig(config: Readonly<Record<string, unknown>>): SchedulerName {
  const className = config._class_name;
  const dpm = SCHEDULER_CLASSES.dpmpp_2m;
  if (className === dpm.className) {
    const name = config.use_karras_sigmas === true ? 'dpmpp_2m_karras' : 'dpmpp_2m';
    // The name forces DPM-Solver++ order 2; a model asking for another variant has no equivalent.
    for (const key of ['algorithm_type', 'solver_order'] as const) {
      if (config[key] !== undefined && config[key] !== dpm.fixes[key]) {
        throw new SchedulerConfigError(key, config[key], `the model's default DPMSolverMultistepScheduler variant is not supported`);
      }
    }
    return name;
  }
  for (const [name, spec] of Object.entries(SCHEDULER_CLASSES) as Array<[SchedulerName, { className: string }]>) {
    if (spec.className === className) return name;
  }
  throw new SchedulerConfigError(
    '_class_name',
    className,
    `no supported scheduler is equivalent; supported classes are ${[...new Set(Object.values(SCHEDULER_CLASSES).map((s) => s.className))].join(', ')}`,
  );
}

function describe(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return JSON.stringify(value) ?? String(value);
}

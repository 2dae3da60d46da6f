import { f32, numpyArange, numpyLinspace, roundHalfEven } from './numerics';

/**
 * How inference timesteps are spread over the training range (Lin et al. 2023, "Common Diffusion
 * Noise Schedules and Sample Steps are Flawed", table 2). Each diffusers scheduler family writes
 * its own variant of the three; the functions below keep each family's exact arithmetic.
 */
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export interface SpacingOptions {
  readonly spacing: TimestepSpacing;
  readonly numTrainTimesteps: number;
  readonly stepsOffset: number;
}

/** Integer timesteps, descending, as DDIM and DPM-Solver round them. */
function roundedDescending(values: Float64Array): number[] {
  return Array.from(values, roundHalfEven).reverse();
}

/**
 * Euler, Euler ancestral and LMS: float32 timesteps, descending; `linspace` keeps fractions
 * (diffusers `scheduling_euler_discrete.py` `set_timesteps`).
 */
export function sigmaSchedulerTimesteps(n: number, { spacing, numTrainTimesteps: N, stepsOffset }: SpacingOptions): number[] {
  switch (spacing) {
    case 'linspace':
      return Array.from(numpyLinspace(0, N - 1, n), f32).reverse();
    case 'leading': {
      const ratio = Math.floor(N / n);
      return Array.from({ length: n }, (_, i) => f32(i * ratio)).reverse().map((t) => f32(t + stepsOffset));
    }
    case 'trailing':
      return Array.from(numpyArange(N, 0, -N / n), (t) => f32(roundHalfEven(t)) - 1);
  }
}

/** DDIM: integer timesteps, descending (diffusers `scheduling_ddim.py` `set_timesteps`). */
export function ddimTimesteps(n: number, { spacing, numTrainTimesteps: N, stepsOffset }: SpacingOptions): number[] {
  switch (spacing) {
    case 'linspace':
      return roundedDescending(numpyLinspace(0, N - 1, n));
    case 'leading': {
      const ratio = Math.floor(N / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return Array.from(numpyArange(N, 0, -N / n), (t) => roundHalfEven(t) - 1);
  }
}

/** PNDM's base grid `_timesteps`: integer timesteps, ascending (diffusers `scheduling_pndm.py`). */
export function pndmBaseTimesteps(n: number, { spacing, numTrainTimesteps: N, stepsOffset }: SpacingOptions): number[] {
  switch (spacing) {
    case 'linspace':
      return Array.from(numpyLinspace(0, N - 1, n), roundHalfEven);
    case 'leading': {
      const ratio = Math.floor(N / n);
      return Array.from({ length: n }, (_, i) => i * ratio + stepsOffset);
    }
    case 'trailing':
      return Array.from(numpyArange(N, 0, -N / n), (t) => roundHalfEven(t) - 1).reverse();
  }
}

/**
 * DPM-Solver multistep: `n + 1` grid points with the last (timestep 0 side) dropped, so the final
 * step lands on sigma 0 rather than on timestep 0 (diffusers `scheduling_dpmsolver_multistep.py`).
 * `lastTimestep` is `num_train_timesteps` unless `lambda_min_clipped` cuts the range.
 */
export function dpmSolverTimesteps(n: number, { spacing, numTrainTimesteps: N, stepsOffset }: SpacingOptions, lastTimestep = N): number[] {
  switch (spacing) {
    case 'linspace':
      return roundedDescending(numpyLinspace(0, lastTimestep - 1, n + 1)).slice(0, n);
    case 'leading': {
      const ratio = Math.floor(lastTimestep / (n + 1));
      return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return Array.from(numpyArange(lastTimestep, 0, -N / n), (t) => roundHalfEven(t) - 1);
  }
}

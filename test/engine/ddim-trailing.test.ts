/**
 * DDIM with `timestep_spacing: "trailing"`, as Hyper-SD's N-step LoRAs run, against diffusers'
 * DDIMScheduler (tools/lora/ddim_trailing_reference.py): the timesteps of every step count, and a
 * whole run's final sample.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createScheduler, parseSchedulerConfig } from '../../container/src/engine/schedulers';
import { maxAbsDiff, TINY_SD } from '../support/oracle';

const SD14_CONFIG = parseSchedulerConfig(readFileSync(join(TINY_SD, 'scheduler', 'scheduler_config.json'), 'utf8'));
const reference = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'schedulers', 'ddim-trailing.json'), 'utf8')) as {
  by_steps: Record<string, { timesteps: number[]; final_sample: number[] }>;
};
const ELEMENTS = 16;

describe('DDIM, trailing spacing', () => {
  it.each(Object.entries(reference.by_steps))('%s steps match diffusers', (steps, expected) => {
    const scheduler = createScheduler('ddim', { ...SD14_CONFIG, timestep_spacing: 'trailing' });
    scheduler.setTimesteps(Number(steps));
    expect(scheduler.timesteps).toEqual(expected.timesteps);
    let sample: Float32Array = Float32Array.from({ length: ELEMENTS }, (_, i) => Math.sin(i + 0.5));
    scheduler.timesteps.forEach((t, step) => {
      const modelOutput = Float32Array.from({ length: ELEMENTS }, (_, i) => Math.cos(i * (step + 1)) * 0.5);
      sample = scheduler.step(modelOutput, t, sample, [1, 1, 4, 4]).prevSample;
    });
    const scale = Math.max(1, ...expected.final_sample.map(Math.abs));
    expect(maxAbsDiff(sample, expected.final_sample) / scale).toBeLessThan(1e-6);
  });
});

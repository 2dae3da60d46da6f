/**
 * LCMScheduler's step beyond the timestep tables (those are in schedulers.test.ts): noise at every
 * step but the last, the denoised output, the consistency boundary conditions, and its limits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createScheduler, parseSchedulerConfig, resolveSchedulerConfig, SchedulerUsageError, type NoiseSource } from '../../container/src/engine/schedulers';
import { trainingSchedule } from '../../container/src/engine/schedulers/noise-schedule';
import { TINY_LCM } from '../support/oracle';

const LCM_CONFIG = parseSchedulerConfig(readFileSync(join(TINY_LCM, 'scheduler', 'scheduler_config.json'), 'utf8'));
const { alphasCumprod } = trainingSchedule(resolveSchedulerConfig('lcm', LCM_CONFIG));
const shape = [1, 4, 2, 2];

function lcm(steps: number, overrides = {}) {
  const s = createScheduler('lcm', { ...LCM_CONFIG, ...overrides });
  s.setTimesteps(steps);
  return s;
}

const ramp = (offset: number) => Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + offset));

function countingNoise(): NoiseSource & { draws: number } {
  const source = { draws: 0, randn: () => (source.draws++, ramp(100 + source.draws)) };
  return source;
}

describe('lcm step', () => {
  it('draws noise at every step but the last and ends on the denoised sample', () => {
    const s = lcm(4);
    const noise = countingNoise();
    let sample: Float32Array = ramp(0);
    let last: { prevSample: Float32Array; denoised?: Float32Array } | undefined;
    for (const t of s.timesteps) {
      last = s.step(ramp(t), t, s.scaleModelInput(sample, t), shape, { noise });
      sample = last.prevSample;
    }
    expect(noise.draws).toBe(3);
    expect(last?.denoised).toEqual(last?.prevSample);
  });

  it('needs no noise source for one step, and refuses to go without one otherwise', () => {
    expect(() => lcm(1).step(ramp(1), 999, ramp(0), shape)).not.toThrow();
    expect(() => lcm(2).step(ramp(1), 999, ramp(0), shape)).toThrow(/pass `options.noise`/);
  });

  it('is c_out · x0 + c_skip · x, noised back with sqrt(ᾱ_prev) and sqrt(1 − ᾱ_prev)', () => {
    const s = lcm(4);
    const [t, next] = s.timesteps;
    const sample = ramp(0);
    const eps = ramp(1);
    const z = ramp(2);
    const { prevSample, denoised } = s.step(eps, t, sample, shape, { noise: { randn: () => z } });
    const a = alphasCumprod[t];
    const scaled = t * 10;
    const cSkip = 0.25 / (scaled ** 2 + 0.25);
    const cOut = scaled / Math.sqrt(scaled ** 2 + 0.25);
    const aPrev = alphasCumprod[next];
    sample.forEach((x, i) => {
      const x0 = (x - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a);
      const expectedDenoised = cOut * x0 + cSkip * x;
      expect(denoised?.[i]).toBeCloseTo(expectedDenoised, 5);
      expect(prevSample[i]).toBeCloseTo(Math.sqrt(aPrev) * expectedDenoised + Math.sqrt(1 - aPrev) * z[i], 5);
    });
  });

  it('keeps the sample where the boundary condition makes the consistency function the identity', () => {
    // c_skip → 1 and c_out → 0 as the scaled timestep → 0: a timestep_scaling of 1e-9 gets there.
    const s = lcm(1, { timestep_scaling: 1e-9 });
    const sample = ramp(0);
    const { denoised } = s.step(ramp(5), s.timesteps[0], sample, shape);
    denoised?.forEach((v, i) => expect(v).toBeCloseTo(sample[i], 4));
  });

  it('refuses more steps than original_inference_steps, as diffusers does', () => {
    expect(() => lcm(51)).toThrow(SchedulerUsageError);
    expect(() => lcm(51)).toThrow(/at most original_inference_steps \(50\) for lcm but is 51/);
    expect(lcm(8, { original_inference_steps: 8 }).timesteps).toEqual([999, 874, 749, 624, 499, 374, 249, 124]);
  });
});

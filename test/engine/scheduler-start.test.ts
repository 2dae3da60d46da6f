/**
 * What image-to-image asks of a scheduler, as diffusers' img2img pipeline uses it: `addNoise` (the
 * forward process of each family) and `setBeginIndex` (starting part-way into the schedule).
 * End to end against diffusers, the img2img oracle cases cover PNDM, DDIM and DPM++.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEDULER_NAMES, type SchedulerName } from '../../contract/limits';
import { createScheduler, parseSchedulerConfig, resolveSchedulerConfig, SchedulerUsageError, type NoiseSource, type Scheduler } from '../../container/src/engine/schedulers';
import { lmsCoefficient } from '../../container/src/engine/schedulers/lms';
import { trainingSchedule } from '../../container/src/engine/schedulers/noise-schedule';
import { TINY_SD } from '../support/oracle';

const SD14_CONFIG = parseSchedulerConfig(readFileSync(join(TINY_SD, 'scheduler', 'scheduler_config.json'), 'utf8'));
const { alphasCumprod } = trainingSchedule(resolveSchedulerConfig('ddim', SD14_CONFIG));
const shape = [1, 4, 2, 2];
const size = 16;

function scheduler(name: SchedulerName, steps: number, overrides = {}): Scheduler {
  const s = createScheduler(name, { ...SD14_CONFIG, ...overrides });
  s.setTimesteps(steps);
  return s;
}

function values(seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

const noiseOf = (seed: number): NoiseSource => ({ randn: () => values(seed) });

describe('addNoise', () => {
  const original = values(1);
  const noise = values(2);

  it.each(['ddim', 'pndm', 'lcm'] as const)("%s noises as DDPM's forward process, sqrt(ᾱ) x + sqrt(1 − ᾱ) ε at the timestep", (name) => {
    const s = scheduler(name, 10);
    s.setBeginIndex(3);
    const t = s.timesteps[3];
    const noisy = s.addNoise(original, noise, t);
    const a = alphasCumprod[t];
    noisy.forEach((v, i) => expect(v).toBeCloseTo(Math.sqrt(a) * original[i] + Math.sqrt(1 - a) * noise[i], 6));
  });

  it.each(['euler', 'euler_ancestral', 'lms'] as const)('%s noises as k-diffusion does, x + σ ε at the begin index', (name) => {
    const s = scheduler(name, 10);
    s.setBeginIndex(4);
    const sigma = s.sigmas?.[4] ?? NaN;
    const noisy = s.addNoise(original, noise, s.timesteps[4]);
    noisy.forEach((v, i) => expect(v).toBeCloseTo(original[i] + sigma * noise[i], 5));
  });

  it.each(['dpmpp_2m', 'dpmpp_2m_karras'] as const)('%s noises in VP form, α_t x + σ_t ε with α_t = 1 / sqrt(σ² + 1)', (name) => {
    const s = scheduler(name, 10);
    s.setBeginIndex(2);
    const sigma = s.sigmas?.[2] ?? NaN;
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    const noisy = s.addNoise(original, noise, s.timesteps[2]);
    noisy.forEach((v, i) => expect(v).toBeCloseTo(alpha * original[i] + alpha * sigma * noise[i], 5));
  });

  it('refuses a timestep other than the next one, and noise of another size', () => {
    const s = scheduler('euler', 10);
    expect(() => s.addNoise(original, noise, s.timesteps[1])).toThrow(/addNoise\(\): timestep .* is out of order/);
    expect(() => s.addNoise(original, new Float32Array(3), s.timesteps[0])).toThrow(/`noise` has 3 values but `original` has 16/);
  });
});

describe('setBeginIndex', () => {
  it.each(SCHEDULER_NAMES.map((name) => [name] as const))('%s: the next call is at the begin index, refused elsewhere', (name) => {
    const s = scheduler(name, 8);
    s.setBeginIndex(5);
    expect(() => s.scaleModelInput(values(1), s.timesteps[0])).toThrow(SchedulerUsageError);
    const t = s.timesteps[5];
    expect(() => s.step(values(2), t, s.scaleModelInput(values(1), t), shape, { noise: noiseOf(3) })).not.toThrow();
    expect(() => s.setBeginIndex(0)).toThrow(/already started/);
  });

  it('refuses an index outside the schedule and needs timesteps first', () => {
    expect(() => scheduler('ddim', 4).setBeginIndex(4)).toThrow(/integer from 0 to 3 but is 4/);
    expect(() => createScheduler('ddim', SD14_CONFIG).setBeginIndex(0)).toThrow(/call setTimesteps/);
  });

  /* A memoryless step depends only on where it is: beginning there equals arriving there. */
  it.each(['ddim', 'euler', 'euler_ancestral', 'lcm'] as const)('%s: a run begun at step k steps as a full run does at k', (name) => {
    const full = scheduler(name, 6);
    let sample = values(10);
    for (const [i, t] of full.timesteps.slice(0, 3).entries()) sample = full.step(values(20 + i), t, full.scaleModelInput(sample, t), shape, { noise: noiseOf(30 + i) }).prevSample;
    const late = scheduler(name, 6);
    late.setBeginIndex(3);
    const t = full.timesteps[3];
    const expected = full.step(values(40), t, sample, shape, { noise: noiseOf(50) }).prevSample;
    late.scaleModelInput(sample, t);
    expect(late.step(values(40), t, sample, shape, { noise: noiseOf(50) }).prevSample).toEqual(expected);
  });

  it('DPM++ starts first order at the begin index, as diffusers (lower_order_nums = 0)', () => {
    const second = scheduler('dpmpp_2m', 10);
    const first = scheduler('dpmpp_2m', 10, { solver_order: 1 });
    for (const s of [second, first]) s.setBeginIndex(4);
    const t = second.timesteps[4];
    expect(second.step(values(1), t, values(2), shape).prevSample).toEqual(first.step(values(1), t, values(2), shape).prevSample);
  });

  it("LMS keeps diffusers' order from the absolute index with only the derivatives it has", () => {
    const s = scheduler('lms', 10);
    s.setBeginIndex(5);
    const t = s.timesteps[5];
    const sigmas = s.sigmas as readonly number[];
    const sample = values(1);
    const output = values(2);
    const next = s.step(output, t, sample, shape).prevSample;
    // order = min(5 + 1, 4) = 4, but one derivative: x + c_0(order 4) · (x − x0) / σ with x0 = x − σ ε.
    const c0 = lmsCoefficient(sigmas, 4, 5, 0);
    next.forEach((v, i) => expect(v).toBeCloseTo(sample[i] + c0 * output[i], 5));
  });

  it('PNDM counts its warm-up from the first call of the run, as diffusers (it has no begin index)', () => {
    // 20 steps begun at 5: the second call (timestep 701) redoes the first step with the averaged prediction.
    const s = scheduler('pndm', 20);
    s.setBeginIndex(5);
    const [t0, t1] = s.timesteps.slice(5, 7);
    expect([t0, t1]).toEqual([751, 701]);
    const start = values(1);
    const [e0, e1] = [values(2), values(3)];
    s.step(e0, t0, start, shape);
    const warm = s.step(e1, t1, values(4), shape).prevSample;
    const fresh = scheduler('ddim', 20, { set_alpha_to_one: false });
    // One PNDM formula-(9) step from 751 to 701 with (e0 + e1) / 2, the same as DDIM's at eta 0.
    fresh.setBeginIndex(fresh.timesteps.indexOf(751));
    const averaged = e0.map((v, i) => (v + e1[i]) / 2);
    const expected = fresh.step(averaged, 751, start, shape).prevSample;
    warm.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });
});

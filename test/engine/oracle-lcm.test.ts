/**
 * Few-step LCM against diffusers: every case of `lcm.json` — the distilled `tiny-lcm` as
 * LatentConsistencyModelPipeline runs it (guidance as an embedding, one UNet call per step) and
 * `tiny-sd` with LCMScheduler as LCM-LoRA weights are run (classifier-free guidance above 1) —
 * matches the reference image within 1e-3 and its latents step by step.
 */
import type { Feed } from '../../container/src/engine/onnx/model-session';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { toUint8 } from '../../container/src/engine/image-encoding';
import { expectLatentsClose, lcmCases, maxAbsDiff, readFloat32, readUint8, stepRecorder, TINY_LCM, TINY_SD } from '../support/oracle';

const IMAGE_TOLERANCE = 1e-3;

const pipelines: Record<string, StableDiffusionPipeline> = {};
beforeAll(async () => {
  pipelines['tiny-lcm'] = await StableDiffusionPipeline.load(TINY_LCM, { executionProvider: 'cpu' });
  pipelines['tiny-sd'] = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu' });
});
afterAll(() => Promise.all(Object.values(pipelines).map((pipeline) => pipeline.release())));
afterEach(() => jest.restoreAllMocks());

it.each(lcmCases().map((c) => [c.id, c.model, c] as const))('case %s (%s) matches diffusers', async (_id, model, c) => {
  const pipeline = pipelines[model];
  const batches: number[] = [];
  const run = pipeline.sessions.unet.run.bind(pipeline.sessions.unet);
  jest.spyOn(pipeline.sessions.unet, 'run').mockImplementation((feeds, outputs) => {
    batches.push((feeds.sample as Feed).dims[0]);
    return run(feeds, outputs);
  });
  const { latentsPerStep, timesteps, onStep } = stepRecorder();
  const result = await pipeline.generate({
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    scheduler: 'lcm',
    steps: c.steps,
    guidanceScale: c.guidance_scale,
    width: c.width,
    height: c.height,
    initialNoise: readFloat32(c.initial_noise),
    stepNoise: readFloat32(c.step_noise),
    onStep,
  });

  expect(timesteps).toEqual(c.timesteps);
  // Distilled: one batch of one per step; LCM-LoRA: [negative, positive] only when guidance is on.
  expect(batches).toEqual(new Array(c.steps).fill(model === 'tiny-sd' && c.guidance_scale > 1 ? 2 : 1));
  expectLatentsClose(c.latents_per_step, latentsPerStep, IMAGE_TOLERANCE);
  const [image] = result.images;
  expect([image.height, image.width]).toEqual([c.height, c.width]);
  expect(maxAbsDiff(image.pixels, readFloat32(c.image_float))).toBeLessThan(IMAGE_TOLERANCE);
  expect(maxAbsDiff(toUint8(image.pixels), readUint8(c.image_uint8))).toBeLessThanOrEqual(1);
});

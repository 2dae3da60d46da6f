/**
 * Image-to-image against diffusers' StableDiffusionImg2ImgPipeline: every case of `img2img.json`
 * (PNDM, DDIM and DPM++ from the encoded picture, strengths 0.3 to 1) matches the reference image
 * within 1e-3 and its latents step by step, from the PNG file as a user would send it.
 */
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { toUint8 } from '../../container/src/engine/image-encoding';
import { expectLatentsClose, img2imgCases, img2imgGenerateOptions, maxAbsDiff, readFloat32, readUint8, stepRecorder, TINY_SD } from '../support/oracle';

const IMAGE_TOLERANCE = 1e-3;

let pipeline: StableDiffusionPipeline;
beforeAll(async () => {
  pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu' });
});
afterAll(() => pipeline.release());

it.each(img2imgCases().map((c) => [c.id, c] as const))('case %s matches diffusers', async (_id, c) => {
  const { latentsPerStep, timesteps, onStep } = stepRecorder();
  const result = await pipeline.generate({ ...img2imgGenerateOptions(c), onStep });

  expect(timesteps).toEqual(c.timesteps);
  expectLatentsClose(c.latents_per_step, latentsPerStep, IMAGE_TOLERANCE);
  const [image] = result.images;
  // No width or height given: the picture's own size.
  expect([image.height, image.width]).toEqual([c.height, c.width]);
  expect(result.parameters.strength).toBe(c.strength);
  expect(maxAbsDiff(image.pixels, readFloat32(c.image_float))).toBeLessThan(IMAGE_TOLERANCE);
  expect(maxAbsDiff(toUint8(image.pixels), readUint8(c.image_uint8))).toBeLessThanOrEqual(1);
});

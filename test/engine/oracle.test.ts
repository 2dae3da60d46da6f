/**
 * The engine against Hugging Face diffusers: every oracle case, on the optimum-style export and on
 * the legacy export, matches the reference image within 1e-3 and tracks its latents step by step.
 */
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { toUint8 } from '../../container/src/engine/image-encoding';
import { expectLatentsClose, maxAbsDiff, oracleCases, oracleGenerateOptions, readFloat32, readUint8, stepRecorder, TINY_SD, TINY_SD_LEGACY, type OracleCase } from '../support/oracle';

const IMAGE_TOLERANCE = 1e-3;
/** The legacy UNet takes int64 timesteps, so Euler's fractional ones are truncated (README: ≈2e-3). */
const LEGACY_FRACTIONAL_TIMESTEP_TOLERANCE = 5e-3;

async function runCase(pipeline: StableDiffusionPipeline, c: OracleCase) {
  const { latentsPerStep, timesteps, onStep } = stepRecorder();
  const result = await pipeline.generate({ ...oracleGenerateOptions(c), onStep });
  return { result, latentsPerStep, timesteps };
}

describe.each([
  ['tiny-sd (optimum export)', TINY_SD, false],
  ['tiny-sd-legacy (early diffusers export)', TINY_SD_LEGACY, true],
])('%s', (_, modelDir, legacy) => {
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await StableDiffusionPipeline.load(modelDir, { executionProvider: 'cpu' });
  });
  afterAll(() => pipeline.release());

  it.each(oracleCases().map((c) => [c.id, c] as const))('case %s matches diffusers', async (_id, c) => {
    const fractional = c.timesteps.some((t) => !Number.isInteger(t));
    const tolerance = legacy && fractional ? LEGACY_FRACTIONAL_TIMESTEP_TOLERANCE : IMAGE_TOLERANCE;
    const { result, latentsPerStep, timesteps } = await runCase(pipeline, c);

    expect(timesteps).toEqual(c.timesteps);
    expectLatentsClose(c.latents_per_step, latentsPerStep, tolerance);
    const [image] = result.images;
    expect([image.height, image.width]).toEqual([c.height, c.width]);
    expect(maxAbsDiff(image.pixels, readFloat32(c.image_float))).toBeLessThan(tolerance);
    expect(maxAbsDiff(toUint8(image.pixels), readUint8(c.image_uint8))).toBeLessThanOrEqual(legacy && fractional ? 2 : 1);
  });
});

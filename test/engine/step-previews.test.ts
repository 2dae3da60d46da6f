/**
 * Live previews from the engine: small WebP data URLs within the contract's limits, at most one per
 * interval, never holding up the steps, and none without a tiny VAE.
 */
import sharp from 'sharp';
import { previewSchema, PREVIEW_LIMITS } from '../../contract/preview';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { poolLatents, StepPreviews, type StepPreview } from '../../container/src/engine/preview/step-previews';
import { TINY_SD, TINY_TAESD } from '../support/oracle';


let pipeline: StableDiffusionPipeline;
beforeAll(async () => {
  pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', decoder: 'full', tinyVaeDir: TINY_TAESD });
});
afterAll(() => pipeline.release());

async function previewsOf(width: number, height: number, steps: number, now: () => number): Promise<StepPreview[]> {
  const previews: StepPreview[] = [];
  const maker = new StepPreviews(pipeline, (preview) => previews.push(preview), now);
  await pipeline.generate({ prompt: 'a red circle', width, height, steps, seed: 3, onStep: (progress) => maker.offer(progress) });
  await maker.settle();
  return previews;
}

it('previews a wide image as a WebP data URL of at most 128 px on the long side and 8 KB', async () => {
  let clock = 0;
  // A clock that moves 1 s per reading: a new preview may start every other step.
  const previews = await previewsOf(256, 128, 6, () => (clock += 1000));
  expect(previews.length).toBeGreaterThanOrEqual(1);
  for (const { dataUrl } of previews) {
    expect(previewSchema.safeParse(dataUrl).success).toBe(true);
    expect(dataUrl.length).toBeLessThanOrEqual(PREVIEW_LIMITS.maxDataUrlLength);
    const metadata = await sharp(Buffer.from(dataUrl.split(',')[1], 'base64')).metadata();
    expect(metadata.format).toBe('webp');
    expect([metadata.width, metadata.height]).toEqual([128, 64]);
  }
  expect(previews[0].step).toBe(1);
});

it('starts at most one preview per interval', async () => {
  // A frozen clock: after the first preview, the interval never passes.
  expect(await previewsOf(64, 64, 5, () => 0)).toHaveLength(1);
});

it('averages latents down to at most 16 cells on the long side', () => {
  // Each channel holds its own index; rows alternate 0 and 1 on top of it.
  const latents = Float32Array.from({ length: 4 * 40 * 20 }, (_, i) => Math.floor(i / 800) + (Math.floor(i / 20) % 2));
  const pooled = poolLatents(latents, 4, 40, 20);
  expect([pooled.channels, pooled.height, pooled.width]).toEqual([4, 14, 7]);
  // Boxes of 3 rows average to channel + 1/3 or + 2/3; the last box has one row (row 39, odd: + 1).
  expect(pooled.data[0]).toBeCloseTo(1 / 3, 6);
  expect(pooled.data[3 * 14 * 7 + 7]).toBeCloseTo(3 + 2 / 3, 6);
  expect(pooled.data[13 * 7]).toBeCloseTo(1, 6);
});

it('makes no previews where there is no tiny VAE', async () => {
  const plain = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu' });
  expect(plain.canPreview).toBe(false);
  expect(await plain.decodePreview(new Float32Array(4 * 8 * 8), [1, 4, 8, 8])).toBeUndefined();
  await plain.release();
});

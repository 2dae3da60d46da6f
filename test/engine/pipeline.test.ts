/** Pipeline behaviour beyond the oracle cases: batching, seeds, guidance, progress, cancellation, dtypes. */
import { GenerationCancelledError, StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import type { Feed } from '../../container/src/engine/onnx/model-session';
import { maxAbsDiff, oracleCases, readFloat32, TINY_SD, TINY_SD_FP16_EXTERNAL } from '../support/oracle';

let pipeline: StableDiffusionPipeline;
beforeAll(async () => {
  pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu' });
});
afterAll(() => pipeline.release());

function recordUnetBatches(target: StableDiffusionPipeline): number[] {
  const batches: number[] = [];
  const original = target.sessions.unet.run.bind(target.sessions.unet);
  jest.spyOn(target.sessions.unet, 'run').mockImplementation((feeds, outputs) => {
    batches.push((feeds.sample as Feed).dims[0]);
    return original(feeds, outputs);
  });
  return batches;
}

afterEach(() => jest.restoreAllMocks());

describe('classifier-free guidance', () => {
  it('runs the UNet on [negative, positive] batches when guidance > 1', async () => {
    const batches = recordUnetBatches(pipeline);
    await pipeline.generate({ prompt: 'a cat', steps: 2, guidanceScale: 7.5, numImages: 2, seed: 1, scheduler: 'ddim' });
    expect(batches).toEqual([4, 4]);
  });

  it('runs a single batch when guidance is 1 or less', async () => {
    const batches = recordUnetBatches(pipeline);
    await pipeline.generate({ prompt: 'a cat', steps: 2, guidanceScale: 1, seed: 1, scheduler: 'ddim' });
    await pipeline.generate({ prompt: 'a cat', steps: 2, guidanceScale: 0.5, seed: 1, scheduler: 'ddim' });
    expect(batches).toEqual([1, 1, 1, 1]);
  });

  it('lets the negative prompt change the image', async () => {
    const plain = await pipeline.generate({ prompt: 'a cat', steps: 4, seed: 3 });
    const negative = await pipeline.generate({ prompt: 'a cat', negativePrompt: 'blurry', steps: 4, seed: 3 });
    expect(maxAbsDiff(plain.images[0].pixels, negative.images[0].pixels)).toBeGreaterThan(1e-4);
  });
});

describe('seeds and batches', () => {
  it('gives image i of a batch the image that seed + i gives alone', async () => {
    const batch = await pipeline.generate({ prompt: 'a tree', steps: 3, seed: 100, numImages: 3 });
    expect(batch.images.map((image) => image.seed)).toEqual([100, 101, 102]);
    const alone = await pipeline.generate({ prompt: 'a tree', steps: 3, seed: 102 });
    expect(maxAbsDiff(batch.images[2].pixels, alone.images[0].pixels)).toBeLessThan(1e-4);
    expect(maxAbsDiff(batch.images[0].pixels, batch.images[1].pixels)).toBeGreaterThan(1e-3);
  });

  it('reproduces ancestral sampling from the seed alone', async () => {
    const options = { prompt: 'a storm', steps: 4, seed: 9, scheduler: 'euler_ancestral' as const };
    const a = await pipeline.generate(options);
    const b = await pipeline.generate(options);
    expect(a.images[0].pixels).toEqual(b.images[0].pixels);
  });

  it('picks and reports a random seed when none is given', async () => {
    const a = await pipeline.generate({ prompt: 'x', steps: 1 });
    const again = await pipeline.generate({ prompt: 'x', steps: 1, seed: a.parameters.seed });
    expect(again.images[0].pixels).toEqual(a.images[0].pixels);
  });
});

describe('progress and cancellation', () => {
  it('reports every step in order', async () => {
    const seen: Array<[number, number]> = [];
    await pipeline.generate({ prompt: 'x', steps: 5, scheduler: 'ddim', seed: 1, onStep: (p) => seen.push([p.step, p.totalSteps]) });
    expect(seen).toEqual([1, 2, 3, 4, 5].map((step) => [step, 5]));
  });

  it('stops between steps when cancelled', async () => {
    const controller = new AbortController();
    let steps = 0;
    const run = pipeline.generate({
      prompt: 'x',
      steps: 20,
      seed: 1,
      signal: controller.signal,
      onStep: (p) => {
        steps = p.step;
        if (p.step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(GenerationCancelledError);
    expect(steps).toBe(2);
  });
});

describe('input checks', () => {
  it('names both sizes when one is not a multiple of 8', async () => {
    await expect(pipeline.generate({ prompt: 'x', width: 500, height: 512 })).rejects.toThrow('`height` and `width` have to be positive and divisible by 8 but are 512 and 500.');
    await expect(pipeline.generate({ prompt: 'x', width: 64, height: 60 })).rejects.toMatchObject({ name: 'InvalidGenerationInputError', field: 'height' });
  });

  it('pads latents the exported UNet cannot take as they are, and crops its prediction back', async () => {
    // 72 px is a 9-cell latent; the tiny UNet halves it once, so it runs on 10 cells.
    const shapes: number[][] = [];
    const original = pipeline.sessions.unet.run.bind(pipeline.sessions.unet);
    jest.spyOn(pipeline.sessions.unet, 'run').mockImplementation((feeds, outputs) => {
      shapes.push([...(feeds.sample as Feed).dims]);
      return original(feeds, outputs);
    });
    const result = await pipeline.generate({ prompt: 'x', steps: 2, seed: 1, width: 72, height: 64, scheduler: 'ddim' });
    expect(shapes).toEqual([[2, 4, 8, 10], [2, 4, 8, 10]]);
    const [image] = result.images;
    expect([image.width, image.height, image.pixels.length]).toEqual([72, 64, 72 * 64 * 3]);
    expect(image.pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('generates any size the model can take, not only square ones', async () => {
    const result = await pipeline.generate({ prompt: 'x', steps: 1, seed: 1, width: 96, height: 48 });
    expect([result.images[0].width, result.images[0].height, result.images[0].pixels.length]).toEqual([96, 48, 96 * 48 * 3]);
  });

  it('refuses initial noise of the wrong shape', async () => {
    await expect(pipeline.generate({ prompt: 'x', steps: 1, initialNoise: new Float32Array(10) })).rejects.toThrow(/initial noise must have 256 values \(shape \[1,4,8,8\]\) but has 10/);
  });

  it('uses the model native size by default', async () => {
    const result = await pipeline.generate({ prompt: 'x', steps: 1, seed: 1 });
    expect([result.parameters.width, result.parameters.height]).toEqual([64, 64]);
  });
});

describe('float16 export with external weights', () => {
  it('loads, adapts to fp16 inputs and outputs, and stays close to the float32 model', async () => {
    const fp16 = await StableDiffusionPipeline.load(TINY_SD_FP16_EXTERNAL, { executionProvider: 'cpu' });
    try {
      expect(fp16.sessions.unet.input('timestep')?.type).toBe('float16');
      const c = oracleCases().find((candidate) => candidate.id === 'ddim-negative')!;
      const options = {
        prompt: c.prompt,
        negativePrompt: c.negative_prompt,
        scheduler: c.scheduler,
        steps: c.steps,
        guidanceScale: c.guidance_scale,
        initialNoise: readFloat32(c.initial_noise),
      };
      const [half, full] = [await fp16.generate(options), await pipeline.generate(options)];
      // Half-precision inputs carry ~3 significant digits; the image moves by a few thousandths.
      expect(maxAbsDiff(half.images[0].pixels, full.images[0].pixels)).toBeLessThan(2e-2);
    } finally {
      await fp16.release();
    }
  });
});

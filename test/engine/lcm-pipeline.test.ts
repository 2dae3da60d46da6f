/**
 * LCM-distilled models in the pipeline beyond the oracle cases: the guidance embedding as
 * `timestep_cond`, batching, seeds, refusals before any work, the model's own defaults, odd sizes,
 * and a float16-I/O export of tiny-lcm made here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreparedFeed, type Feed } from '../../container/src/engine/onnx/model-session';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { guidanceScaleEmbedding } from '../../container/src/engine/guidance-embedding';
import { lcmCases, maxAbsDiff, readFloat32, referenceFile, TINY_LCM } from '../support/oracle';
import { makeFp16IoVariant } from './support/fp16-io-variant';

let pipeline: StableDiffusionPipeline;
let scratch: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'lcm-'));
  pipeline = await StableDiffusionPipeline.load(TINY_LCM, { executionProvider: 'cpu' });
});
afterAll(async () => {
  await pipeline.release();
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(() => jest.restoreAllMocks());

/** Every UNet feed, as [input name → dims], and how often each session ran. */
function recordRuns(target: StableDiffusionPipeline) {
  const unetFeeds: Array<Record<string, ReadonlyArray<number | string>>> = [];
  const runs = { textEncoder: 0, unet: 0, vaeDecoder: 0, vaeEncoder: 0 };
  for (const [role, session] of Object.entries(target.sessions)) {
    const original = session.run.bind(session);
    jest.spyOn(session, 'run').mockImplementation((feeds, outputs) => {
      runs[role as keyof typeof runs] += 1;
      if (role === 'unet') {
        const entries = Object.entries(feeds as Record<string, Feed | PreparedFeed>);
        unetFeeds.push(Object.fromEntries(entries.map(([name, feed]) => [name, feed instanceof PreparedFeed ? ['prepared'] : feed.dims])));
      }
      return original(feeds, outputs);
    });
  }
  return { unetFeeds, runs };
}

describe('guidance-scale embedding', () => {
  it("is diffusers' get_guidance_scale_embedding(w = g − 1): sin then cos of w·1000·10000^(−k/(half−1))", () => {
    const row = guidanceScaleEmbedding(8.5, 8, 1);
    const w = 7.5 * 1000;
    const expected = [0, 1, 2, 3].map((k) => w * Math.exp((-Math.log(10000) * k) / 3));
    // torch rounds the angles (up to 7500) to float32, which moves their sines by up to 5e-4.
    expect(Array.from(row)).toEqual([...expected.map(Math.sin), ...expected.map(Math.cos)].map((v) => expect.closeTo(v, 3)));
    // Guidance 1 means w = 0: sines 0, cosines 1.
    expect(Array.from(guidanceScaleEmbedding(1, 4, 2))).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
  });
});

describe('an LCM-distilled UNet', () => {
  it('takes the model defaults: lcm, 4 steps, guidance 8.5, native size, and reports what it accepts', async () => {
    expect(pipeline.defaults).toEqual({ scheduler: 'lcm', steps: 4, guidanceScale: 8.5, width: 64, height: 64 });
    expect(pipeline.capabilities).toEqual({ acceptsInitImage: true, distilled: true, acceptsNegativePrompt: false });
    const { unetFeeds } = recordRuns(pipeline);
    const result = await pipeline.generate({ prompt: 'a lighthouse', seed: 1 });
    expect(result.parameters).toMatchObject({ scheduler: 'lcm', steps: 4, guidanceScale: 8.5, width: 64, height: 64 });
    expect(unetFeeds).toHaveLength(4);
  });

  it('runs one batch of num_images per step with the embedding as timestep_cond, image i as seed + i alone', async () => {
    const { unetFeeds } = recordRuns(pipeline);
    const batch = await pipeline.generate({ prompt: 'a kite', steps: 3, seed: 40, numImages: 2, guidanceScale: 3 });
    expect(unetFeeds.map((feed) => [feed.sample[0], feed.timestep_cond])).toEqual(new Array(3).fill([2, ['prepared']]));
    expect(batch.images.map((image) => image.seed)).toEqual([40, 41]);
    const alone = await pipeline.generate({ prompt: 'a kite', steps: 3, seed: 41, guidanceScale: 3 });
    expect(maxAbsDiff(batch.images[1].pixels, alone.images[0].pixels)).toBeLessThan(1e-4);
    expect(maxAbsDiff(batch.images[0].pixels, batch.images[1].pixels)).toBeGreaterThan(1e-3);
  });

  it('lets the guidance scale change the image through the embedding', async () => {
    const low = await pipeline.generate({ prompt: 'a kite', steps: 2, seed: 5, guidanceScale: 1.5 });
    const high = await pipeline.generate({ prompt: 'a kite', steps: 2, seed: 5, guidanceScale: 8 });
    expect(maxAbsDiff(low.images[0].pixels, high.images[0].pixels)).toBeGreaterThan(1e-3);
  });

  it('refuses a negative prompt before any model runs, naming negative_prompt; an empty one is no negative prompt', async () => {
    const { runs } = recordRuns(pipeline);
    await expect(pipeline.generate({ prompt: 'x', negativePrompt: 'blurry' })).rejects.toMatchObject({
      name: 'InvalidGenerationInputError',
      field: 'negative_prompt',
      message: expect.stringMatching(/LCM-distilled/),
    });
    expect(runs).toEqual({ textEncoder: 0, unet: 0, vaeDecoder: 0, vaeEncoder: 0 });
    await expect(pipeline.generate({ prompt: 'x', negativePrompt: '', steps: 1, seed: 1 })).resolves.toBeDefined();
  });

  it('refuses more steps than its schedule has, naming steps', async () => {
    await expect(pipeline.generate({ prompt: 'x', steps: 51 })).rejects.toMatchObject({ field: 'steps', message: expect.stringMatching(/original_inference_steps \(50\)/) });
  });

  it('pads odd latent sizes for the UNet as for other UNets', async () => {
    const { unetFeeds } = recordRuns(pipeline);
    const result = await pipeline.generate({ prompt: 'x', steps: 2, seed: 1, width: 72, height: 64 });
    expect(unetFeeds.map((feed) => feed.sample)).toEqual([[1, 4, 8, 10], [1, 4, 8, 10]]);
    expect([result.images[0].width, result.images[0].pixels.length]).toEqual([72, 72 * 64 * 3]);
  });

  it('reproduces a run from its seed alone (initial noise, then step noise from the same generator)', async () => {
    const a = await pipeline.generate({ prompt: 'a storm', steps: 4, seed: 9 });
    const b = await pipeline.generate({ prompt: 'a storm', steps: 4, seed: 9 });
    expect(a.images[0].pixels).toEqual(b.images[0].pixels);
  });
});

describe('a float16-I/O export of tiny-lcm', () => {
  it('loads with float16 inputs (timestep_cond included) and stays close to the float32 model on an oracle case', async () => {
    const dir = join(scratch, 'tiny-lcm-fp16');
    makeFp16IoVariant(TINY_LCM, dir);
    const fp16 = await StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' });
    try {
      expect(['timestep_cond', 'sample', 'timestep'].map((name) => fp16.sessions.unet.input(name)?.type)).toEqual(['float16', 'float16', 'float16']);
      expect(fp16.capabilities.distilled).toBe(true);
      const c = lcmCases().find((candidate) => candidate.id === 'lcm-4')!;
      const options = {
        prompt: c.prompt,
        steps: c.steps,
        guidanceScale: c.guidance_scale,
        initialNoise: readFloat32(c.initial_noise),
        stepNoise: readFloat32(c.step_noise),
      };
      const [half, full] = [await fp16.generate(options), await pipeline.generate(options)];
      // Half-precision inputs carry ~3 significant digits; the image moves by a few thousandths.
      const diff = maxAbsDiff(half.images[0].pixels, full.images[0].pixels);
      expect(diff).toBeLessThan(2e-2);
      expect(diff).toBeGreaterThan(0);
      // The VAE encoder's float16 input and latent_parameters too, from a picture.
      const picture = { prompt: c.prompt, initImage: readFileSync(referenceFile('i2i-pndm.init.png')), strength: 0.5, seed: 3 };
      const [halfPicture, fullPicture] = [await fp16.generate(picture), await pipeline.generate(picture)];
      expect(maxAbsDiff(halfPicture.images[0].pixels, fullPicture.images[0].pixels)).toBeLessThan(2e-2);
    } finally {
      await fp16.release();
    }
  });
});

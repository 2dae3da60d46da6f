/**
 * Image-to-image beyond the oracle cases: seeds drive the noise in diffusers' order, pictures of
 * other sizes are resized, decoded pixels work like files, batches, LCM from a picture, and every
 * refusal names `init_image` or `strength` before any model runs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { LIMITS } from '../../contract/limits';
import { TorchCompatibleRandn } from '../../container/src/engine/noise/torch-compatible-randn';
import { StableDiffusionPipeline, type GenerateOptions } from '../../container/src/engine/pipeline';
import { decodeBase64Image, openInitImage, outputSizeForImage } from '../../container/src/engine/init-image';
import { makeLegacyVaeEncoder } from './support/legacy-vae-encoder';
import { img2imgCases, maxAbsDiff, referenceFile, TINY_LCM, TINY_SD, TINY_SD_LEGACY } from '../support/oracle';

let pipeline: StableDiffusionPipeline;
let scratch: string;
const oracle = img2imgCases().find((c) => c.id === 'i2i-pndm')!;
const png = readFileSync(referenceFile(oracle.init_image.file));
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'img2img-'));
  pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu' });
});
afterAll(async () => {
  await pipeline.release();
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(() => jest.restoreAllMocks());

const base: GenerateOptions = { prompt: 'a sunset', scheduler: 'ddim', steps: 6, guidanceScale: 5, strength: 0.5 };

function countRuns(target: StableDiffusionPipeline): Record<string, number> {
  const runs: Record<string, number> = {};
  for (const [role, session] of Object.entries(target.sessions)) {
    runs[role] = 0;
    const original = session.run.bind(session);
    jest.spyOn(session, 'run').mockImplementation((feeds, outputs) => {
      runs[role] += 1;
      return original(feeds, outputs);
    });
  }
  return runs;
}

async function solid(width: number, height: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 30 } } })[format]().toBuffer();
}

describe('seeds', () => {
  it('draw the encoder sample first, then the noise added at the first timestep, from one torch-compatible generator', async () => {
    const seeded = await pipeline.generate({ ...base, initImage: png, seed: 77 });
    const generator = new TorchCompatibleRandn(77);
    const [encoderNoise, initialNoise] = [generator.randn([1, 4, 8, 8]), generator.randn([1, 4, 8, 8])];
    const replayed = await pipeline.generate({ ...base, initImage: png, encoderNoise, initialNoise });
    expect(maxAbsDiff(seeded.images[0].pixels, replayed.images[0].pixels)).toBe(0);
    const swapped = await pipeline.generate({ ...base, initImage: png, encoderNoise: initialNoise, initialNoise: encoderNoise });
    expect(maxAbsDiff(seeded.images[0].pixels, swapped.images[0].pixels)).toBeGreaterThan(1e-4);
  });

  it('gives image i of a batch the image that seed + i gives alone', async () => {
    const batch = await pipeline.generate({ ...base, initImage: png, seed: 10, numImages: 2 });
    const alone = await pipeline.generate({ ...base, initImage: png, seed: 11 });
    expect(batch.images.map((image) => image.seed)).toEqual([10, 11]);
    expect(maxAbsDiff(batch.images[1].pixels, alone.images[0].pixels)).toBeLessThan(1e-4);
  });
});

describe('the picture', () => {
  it('runs min(floor(steps × strength), steps) steps from the encoded picture, with the default strength 0.8', async () => {
    const seen: number[] = [];
    const result = await pipeline.generate({ ...base, strength: undefined, steps: 10, initImage: png, seed: 1, onStep: (p) => seen.push(p.totalSteps) });
    expect(result.parameters.strength).toBe(0.8);
    expect(seen).toEqual(new Array(8).fill(8));
    expect(result.timings.encodeImageMs).toBeGreaterThan(0);
  });

  it('takes decoded RGB pixels exactly as the PNG they came from', async () => {
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const fromFile = await pipeline.generate({ ...base, initImage: png, seed: 3 });
    const fromPixels = await pipeline.generate({ ...base, initImage: { pixels: data, width: info.width, height: info.height }, seed: 3 });
    expect(fromPixels.images[0].pixels).toEqual(fromFile.images[0].pixels);
  });

  it.each(['jpeg', 'webp'] as const)('reads %s', async (format) => {
    const result = await pipeline.generate({ ...base, initImage: await solid(64, 64, format), seed: 1 });
    expect([result.images[0].width, result.images[0].height]).toEqual([64, 64]);
  });

  it("takes its own size rounded down to a multiple of 8 when the request names none", async () => {
    const own = await pipeline.generate({ ...base, initImage: await solid(100, 70), seed: 1 });
    expect([own.parameters.width, own.parameters.height]).toEqual([96, 64]);
    const given = await pipeline.generate({ ...base, initImage: await solid(100, 70), width: 64, height: 64, seed: 1 });
    expect([given.images[0].width, given.images[0].height]).toEqual([64, 64]);
  });

  it('resizes by cover (scale, then centre crop), not by stretching', async () => {
    // Three vertical stripes over 128 × 64: green, red, blue. Cover to 64 × 64 keeps columns 32..95.
    const stripes = Buffer.alloc(128 * 64 * 3);
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 128; x++) stripes.set(x < 43 ? [0, 255, 0] : x < 86 ? [255, 0, 0] : [0, 0, 255], (y * 128 + x) * 3);
    }
    const source = await openInitImage({ pixels: stripes, width: 128, height: 64 });
    const chw = await source.toModelInput(64, 64);
    const plane = 64 * 64;
    const at = (x: number) => [chw[x], chw[plane + x], chw[2 * plane + x]].map((v) => Math.round(v));
    // Column 16 is source column 48 (red) under cover; stretching would have made it column 32 (green).
    expect([at(2), at(16), at(32), at(62)]).toEqual([[-1, 1, -1], [1, -1, -1], [1, -1, -1], [-1, -1, 1]]);
    // Sizes that already match are not resampled: values are exactly x / 255 * 2 − 1.
    const same = await source.toModelInput(128, 64);
    expect([same[0], same[128 * 64]]).toEqual([-1, 1]);
  });

  it('scales a picture larger than the request limits down to fit them', () => {
    expect(outputSizeForImage(1024, 1024, 8)).toEqual({ width: 768, height: 768 });
    expect(outputSizeForImage(1024, 512, 8)).toEqual({ width: 1024, height: 512 });
    expect(outputSizeForImage(2000, 500, 8)).toEqual({ width: LIMITS.sizeMax, height: 256 });
    expect(() => outputSizeForImage(40, 300, 8)).toThrow(/init_image is 40 × 300 pixels, which makes a 40 × 296 image; give width and height/);
  });

  it('takes a missing side from the picture aspect ratio, within the limits', () => {
    expect(outputSizeForImage(1000, 500, 8, { width: 512 })).toEqual({ width: 512, height: 256 });
    expect(outputSizeForImage(500, 1000, 8, { height: 400 })).toEqual({ width: 200, height: 400 });
    // 1024 wide at 1:1 would be 1024 × 1024; the pixel limit caps the height at 576.
    expect(outputSizeForImage(800, 800, 8, { width: 1024 })).toEqual({ width: 1024, height: 576 });
  });

  it('decodes the base64 of the API, with or without a data: URL prefix', () => {
    const text = png.toString('base64');
    expect(decodeBase64Image(text)).toEqual(png);
    expect(decodeBase64Image(`data:image/png;base64,${text}`)).toEqual(png);
  });

  it('runs LCM from a picture on a distilled model', async () => {
    const lcm = await StableDiffusionPipeline.load(TINY_LCM, { executionProvider: 'cpu' });
    try {
      const seen: number[] = [];
      const result = await lcm.generate({ prompt: 'a sunset', initImage: png, strength: 0.5, seed: 2, onStep: (p) => seen.push(p.timestep) });
      // 4 steps at strength 0.5: the last two of 999, 759, 499, 259.
      expect(seen).toEqual([499, 259]);
      expect(result.parameters).toMatchObject({ scheduler: 'lcm', steps: 4, strength: 0.5 });
    } finally {
      await lcm.release();
    }
  });
});

describe("an early export's VAE encoder (latent_sample, sampled inside the graph)", () => {
  it('uses its output as the latent, scaled, without drawing encoder noise; optimum-style parameters with zero noise agree', async () => {
    const dir = join(scratch, 'legacy-encoder');
    cpSync(TINY_SD, dir, { recursive: true });
    makeLegacyVaeEncoder(dir);
    const legacy = await StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' });
    try {
      expect(legacy.sessions.vaeEncoder?.outputs.map((output) => [output.name, output.shape[1]])).toEqual([['latent_sample', 4]]);
      const initialNoise = new TorchCompatibleRandn(5).randn([1, 4, 8, 8]);
      const fromSample = await legacy.generate({ ...base, initImage: png, initialNoise });
      // The mean is the sample with zero noise: the optimum export, given zero encoder noise, must agree.
      const fromParameters = await pipeline.generate({ ...base, initImage: png, initialNoise, encoderNoise: new Float32Array(256) });
      expect(maxAbsDiff(fromSample.images[0].pixels, fromParameters.images[0].pixels)).toBeLessThan(1e-5);
      await expect(legacy.generate({ ...base, initImage: png, encoderNoise: new Float32Array(256) })).rejects.toMatchObject({ field: 'encoder_noise' });
      // With a seed, the first draw of the generator is the noise added at the first timestep.
      const seeded = await legacy.generate({ ...base, initImage: png, seed: 5 });
      expect(seeded.images[0].pixels).toEqual(fromSample.images[0].pixels);
    } finally {
      await legacy.release();
    }
  });
});

describe('refusals, before any model runs', () => {
  const tooMany = () => sharp({ create: { width: 1025, height: 1024, channels: 3, background: 'white' } }).png({ compressionLevel: 1 }).toBuffer();
  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>');

  it.each<[string, () => Promise<GenerateOptions> | GenerateOptions, string, RegExp]>([
    ['bytes that are no image', () => ({ ...base, initImage: Buffer.from('definitely not an image') }), 'init_image', /must be a PNG, JPEG or WebP image/],
    ['a GIF', () => ({ ...base, initImage: gif }), 'init_image', /must be a PNG, JPEG or WebP image/],
    ['an SVG', () => ({ ...base, initImage: svg }), 'init_image', /must be a PNG, JPEG or WebP image/],
    ['a truncated PNG', () => ({ ...base, initImage: png.subarray(0, 60) }), 'init_image', /init_image/],
    ['too many pixels', async () => ({ ...base, initImage: await tooMany() }), 'init_image', /1025 × 1024 = 1049600 pixels; at most 1048576/],
    ['pixels that do not fill their size', () => ({ ...base, initImage: { pixels: new Uint8Array(10), width: 4, height: 4 } }), 'init_image', /4 × 4 × 3 RGB bytes/],
    ['strength 0', () => ({ ...base, initImage: png, strength: 0 }), 'strength', /has to be in \(0, 1\] but is 0/],
    ['strength 1.5', () => ({ ...base, initImage: png, strength: 1.5 }), 'strength', /but is 1.5/],
    ['strength NaN', () => ({ ...base, initImage: png, strength: NaN }), 'strength', /but is NaN/],
    ['strength without a picture', () => ({ ...base }), 'strength', /applies only to image-to-image/],
    ['strength that leaves no step', () => ({ ...base, initImage: png, steps: 4, strength: 0.2 }), 'strength', /leaves no step to run/],
  ])('refuses %s, naming the field', async (_what, options, field, message) => {
    const runs = countRuns(pipeline);
    await expect(pipeline.generate(await options())).rejects.toMatchObject({ name: 'InvalidGenerationInputError', field, message: expect.stringMatching(message) });
    expect(Object.values(runs).every((count) => count === 0)).toBe(true);
  });

  it('refuses init_image on a model without a VAE encoder', async () => {
    const legacy = await StableDiffusionPipeline.load(TINY_SD_LEGACY, { executionProvider: 'cpu' });
    try {
      expect(legacy.capabilities.acceptsInitImage).toBe(false);
      await expect(legacy.generate({ ...base, initImage: png })).rejects.toMatchObject({ field: 'init_image', message: expect.stringMatching(/no VAE encoder/) });
    } finally {
      await legacy.release();
    }
  });
});

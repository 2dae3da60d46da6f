/**
 * The tiny VAE (TAESD) decoder against diffusers: every whole generation of `tiny-vae.json`
 * (tiny-sd with `vae=` the tiny VAE) within 1e-3 of its image, every decoder-only case within 1e-4
 * of the decoder's output; and the folder rules: found inside or beside a model, refused with the
 * file named when it is not a tiny decoder.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chwToHwcUnit } from '../../container/src/engine/decoder/latent-decoder';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { maxAbsDiff, oracleGenerateOptions, readFloat32, readReference, TINY_SD, TINY_TAESD, type ArrayRef, type OracleGenerationCase } from '../support/oracle';


interface TinyVaeReference {
  readonly tiny_vae_scaling_factor: number;
  readonly cases: OracleGenerationCase[];
  readonly decoder_only: Array<{ readonly id: string; readonly latents: ArrayRef; readonly decoder_output: ArrayRef }>;
}

const reference = readReference('tiny-vae.json') as TinyVaeReference;

let pipeline: StableDiffusionPipeline;
beforeAll(async () => {
  pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', decoder: 'tiny', tinyVaeDir: TINY_TAESD });
});
afterAll(() => pipeline.release());

it('runs the tiny decoder when asked for it, and can make previews', () => {
  expect(pipeline.decoder).toBe('tiny');
  expect(pipeline.canPreview).toBe(true);
});

it.each(reference.cases.map((c) => [c.id, c] as const))('generation %s matches diffusers with vae=AutoencoderTiny', async (_id, c) => {
  const result = await pipeline.generate(oracleGenerateOptions(c));
  const [image] = result.images;
  expect([image.height, image.width]).toEqual([c.height, c.width]);
  expect(maxAbsDiff(image.pixels, readFloat32(c.image_float))).toBeLessThan(1e-3);
});

it.each(reference.decoder_only.map((c) => [c.id, c] as const))('decoder-only %s matches the decoder within 1e-4', async (_id, c) => {
  const raw = await pipeline.sessions.tinyVaeDecoder!.run({ latent_sample: { data: readFloat32(c.latents), dims: c.latents.shape } }, ['sample']);
  expect(raw.sample.dims).toEqual(c.decoder_output.shape);
  expect(maxAbsDiff(raw.sample.data, readFloat32(c.decoder_output))).toBeLessThan(1e-4);
  // The preview path decodes exactly these latents (scaling factor 1.0), then clamps as the final image does.
  const preview = await pipeline.decodePreview(readFloat32(c.latents), c.latents.shape);
  const [, channels, height, width] = c.decoder_output.shape;
  expect(preview).toMatchObject({ width, height });
  expect(maxAbsDiff(preview!.pixels, chwToHwcUnit(readFloat32(c.decoder_output), channels, height, width))).toBeLessThan(1e-4);
  expect(reference.tiny_vae_scaling_factor).toBe(1);
});

describe('where the tiny VAE is found', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tiny-vae-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds taesd/ beside the model and uses it under auto on the CPU; full stays selectable', async () => {
    const root = join(scratch, 'beside');
    cpSync(TINY_SD, join(root, 'tiny-sd'), { recursive: true });
    cpSync(TINY_TAESD, join(root, 'taesd'), { recursive: true });
    const auto = await StableDiffusionPipeline.load(join(root, 'tiny-sd'), { executionProvider: 'cpu' });
    const full = await StableDiffusionPipeline.load(join(root, 'tiny-sd'), { executionProvider: 'cpu', decoder: 'full' });
    try {
      expect([auto.decoder, auto.canPreview]).toEqual(['tiny', true]);
      expect([full.decoder, full.canPreview]).toEqual(['full', true]);
    } finally {
      await Promise.all([auto.release(), full.release()]);
    }
  });

  it('finds taesd/ inside the model', async () => {
    const model = join(scratch, 'inside');
    cpSync(TINY_SD, model, { recursive: true });
    cpSync(TINY_TAESD, join(model, 'taesd'), { recursive: true });
    const loaded = await StableDiffusionPipeline.load(model, { executionProvider: 'cpu', decoder: 'tiny' });
    expect(loaded.decoder).toBe('tiny');
    await loaded.release();
  });

  it('runs the full decoder without previews where there is no tiny VAE, and refuses decoder tiny there', async () => {
    const plain = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu' });
    expect([plain.decoder, plain.canPreview]).toEqual(['full', false]);
    await plain.release();
    await expect(StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', decoder: 'tiny' })).rejects.toThrow(/decoder "tiny" needs a tiny VAE.*taesd/);
  });

  it('refuses a tiny VAE folder without a decoder, naming the missing file', async () => {
    await expect(StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', tinyVaeDir: join(scratch, 'nothing') })).rejects.toThrow(
      /nothing is missing vae_decoder\/model\.onnx/,
    );
  });

  it('refuses a full VAE given as the tiny one, naming its config', async () => {
    await expect(StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', tinyVaeDir: TINY_SD })).rejects.toThrow(
      /tiny-sd\/vae_decoder\/config\.json: _class_name is "AutoencoderKL"/,
    );
  });

  it('refuses at load a decoder with the wrong interface, naming the file', async () => {
    // The tiny VAE's encoder (sample → latent_sample) standing where its decoder should be.
    const wrong = join(scratch, 'wrong');
    mkdirSync(join(wrong, 'vae_decoder'), { recursive: true });
    copyFileSync(join(TINY_TAESD, 'vae_encoder', 'model.onnx'), join(wrong, 'vae_decoder', 'model.onnx'));
    copyFileSync(join(TINY_TAESD, 'vae_decoder', 'config.json'), join(wrong, 'vae_decoder', 'config.json'));
    const file = join(wrong, 'vae_decoder', 'model.onnx');
    const escaped = file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    await expect(StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', tinyVaeDir: wrong })).rejects.toThrow(
      new RegExp(`${escaped}: is not a tiny VAE decoder: it takes sample and gives latent_sample`),
    );
  });
});

/** Loading refuses incomplete or foreign model folders, naming the file and the problem. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { readModelFolder } from '../../container/src/engine/model/model-folder';
import { TINY_SD, TINY_SD_LEGACY } from '../support/oracle';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'model-folder-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyOf(source: string, name: string): string {
  const dir = join(scratch, name);
  cpSync(source, dir, { recursive: true });
  return dir;
}

describe('readModelFolder', () => {
  it('reads sizes and factors from the optimum configs', async () => {
    const folder = await readModelFolder(TINY_SD);
    expect(folder).toMatchObject({ nativeSize: 64, vaeScalingFactor: 0.18215, vaeScaleFactor: 8, sizeMultiple: 16 });
    expect(folder.vaeEncoderFile).toBeDefined();
  });

  it('falls back to SD 1.x defaults when an export ships no configs', async () => {
    const folder = await readModelFolder(TINY_SD_LEGACY);
    expect(folder).toMatchObject({ nativeSize: undefined, vaeScalingFactor: 0.18215, sizeMultiple: 64 });
  });

  it.each([
    ['unet/model.onnx', /missing unet\/model\.onnx \(the UNet\)/],
    ['text_encoder/model.onnx', /missing text_encoder\/model\.onnx/],
    ['vae_decoder/model.onnx', /missing vae_decoder\/model\.onnx/],
    ['tokenizer/merges.txt', /missing tokenizer\/merges\.txt/],
    ['scheduler/scheduler_config.json', /missing scheduler\/scheduler_config\.json/],
  ])('refuses a folder without %s', async (part, message) => {
    const dir = copyOf(TINY_SD_LEGACY, `without-${part.replace(/\W/g, '-')}`);
    rmSync(join(dir, part));
    await expect(readModelFolder(dir)).rejects.toThrow(message);
  });

  it('finds the model inside the single folder a model.tar.gz unpacked into', async () => {
    const archiveRoot = join(scratch, 'opt-ml-model');
    cpSync(TINY_SD, join(archiveRoot, 'tiny-sd'), { recursive: true });
    const folder = await readModelFolder(archiveRoot);
    expect(folder.dir).toBe(join(archiveRoot, 'tiny-sd'));
    expect(folder.nativeSize).toBe(64);
  });

  it('refuses a folder that does not exist', async () => {
    await expect(readModelFolder(join(scratch, 'nowhere'))).rejects.toThrow(/does not exist/);
  });

  it('refuses broken JSON and nonsense config values, naming the file', async () => {
    const dir = copyOf(TINY_SD, 'bad-json');
    writeFileSync(join(dir, 'scheduler/scheduler_config.json'), '{ not json');
    await expect(readModelFolder(dir)).rejects.toThrow(/scheduler_config\.json is not valid JSON/);
    const other = copyOf(TINY_SD, 'bad-scaling');
    writeFileSync(join(other, 'vae_decoder/config.json'), JSON.stringify({ scaling_factor: -1 }));
    await expect(readModelFolder(other)).rejects.toThrow(/vae_decoder\/config\.json: scaling_factor must be a positive number but is -1/);
  });
});

describe('StableDiffusionPipeline.load interface checks', () => {
  it('refuses a UNet that is not a UNet', async () => {
    const dir = copyOf(TINY_SD_LEGACY, 'vae-as-unet');
    cpSync(join(TINY_SD_LEGACY, 'vae_decoder/model.onnx'), join(dir, 'unet/model.onnx'));
    await expect(StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' })).rejects.toThrow(
      /unet\/model\.onnx: has no input "sample" \(inputs: latent_sample\)/,
    );
  });

  it('refuses a text encoder in the VAE decoder slot', async () => {
    const dir = copyOf(TINY_SD_LEGACY, 'text-as-vae');
    cpSync(join(TINY_SD_LEGACY, 'text_encoder/model.onnx'), join(dir, 'vae_decoder/model.onnx'));
    await expect(StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' })).rejects.toThrow(/vae_decoder\/model\.onnx: has no input "latent_sample"/);
  });

  it('refuses a file that is not ONNX at all', async () => {
    const dir = copyOf(TINY_SD_LEGACY, 'garbage-onnx');
    writeFileSync(join(dir, 'unet/model.onnx'), 'definitely not protobuf');
    await expect(StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' })).rejects.toThrow(/unet\/model\.onnx: onnxruntime could not load the model/);
  });

  it('refuses a scheduler config it cannot honour', async () => {
    const dir = copyOf(TINY_SD_LEGACY, 'bad-scheduler');
    writeFileSync(join(dir, 'scheduler/scheduler_config.json'), JSON.stringify({ _class_name: 'PNDMScheduler', beta_schedule: 'wobbly' }));
    await expect(StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' })).rejects.toThrow(/beta_schedule/);
  });
});

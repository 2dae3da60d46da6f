/**
 * The safety checker against the oracle's third set (reference/safety.json): transformers' CLIP
 * preprocessing and the checker's decision on every picture, then the pipeline withholding what
 * the checker flags, and the refusals.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { StableDiffusionPipeline, type DecodedImage } from '../../container/src/engine/pipeline';
import { preprocessForClip, readClipImageProcessorConfig } from '../../container/src/engine/safety/clip-image-processor';
import { SafetyChecker } from '../../container/src/engine/safety/safety-checker';
import { loadSafetyFilter } from '../../container/src/engine/safety/safety-filter';
import { ORACLE_DIR, TINY_SD, TINY_SD_SAFETY } from '../support/oracle';

interface SafetyCase {
  readonly id: string;
  readonly image: { readonly file: string; readonly width: number; readonly height: number };
  readonly pixel_values: { readonly file: string; readonly shape: number[] };
  readonly has_nsfw_concept: boolean;
}

const REFERENCE = join(ORACLE_DIR, 'reference');
const CASES: SafetyCase[] = JSON.parse(readFileSync(join(REFERENCE, 'safety.json'), 'utf8')).cases;
const PREPROCESSOR_CONFIG = join(TINY_SD_SAFETY, 'feature_extractor', 'preprocessor_config.json');
const CHECKER_FILES = { model: join(TINY_SD_SAFETY, 'safety_checker', 'model.onnx'), preprocessorConfig: PREPROCESSOR_CONFIG };
/**
 * Our resize is PIL's algorithm in the same fixed-point arithmetic, so only the float steps
 * (1/255, normalize) differ: measured largest difference 2.4e-7 over all 8 pictures. (sharp's
 * closest kernel, `cubic`, was 0.885 off on the enlarged 64×64 picture.)
 */
const PIXEL_VALUES_TOLERANCE = 1e-5;

const sessionOptions = { executionProviders: ['cpu'] as const };

async function rgbOf(file: string) {
  const { data, info } = await sharp(join(REFERENCE, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data), width: info.width, height: info.height };
}

async function decodedImageOf(c: SafetyCase, seed: number): Promise<DecodedImage> {
  const { rgb, width, height } = await rgbOf(c.image.file);
  return { pixels: Float32Array.from(rgb, (v) => v / 255), width, height, seed };
}

function f32(file: string): Float32Array {
  const bytes = readFileSync(join(REFERENCE, file));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

describe('CLIP preprocessing for the safety checker', () => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s lands on transformers\' pixel_values', async (_id, c) => {
    const config = await readClipImageProcessorConfig(PREPROCESSOR_CONFIG, 'preprocessor_config.json');
    const { rgb, width, height } = await rgbOf(c.image.file);
    const got = preprocessForClip(rgb, width, height, config);
    const want = f32(c.pixel_values.file);
    expect([1, 3, got.height, got.width]).toEqual(c.pixel_values.shape);
    let largest = 0;
    for (let i = 0; i < want.length; i++) largest = Math.max(largest, Math.abs(got.pixelValues[i] - want[i]));
    expect(largest).toBeLessThan(PIXEL_VALUES_TOLERANCE);
  });

  it('refuses a config it cannot follow, naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clip-config-'));
    try {
      const file = join(dir, 'preprocessor_config.json');
      const config = JSON.parse(readFileSync(PREPROCESSOR_CONFIG, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...config, image_std: [1, 2] }));
      await expect(readClipImageProcessorConfig(file, 'feature_extractor/preprocessor_config.json')).rejects.toThrow(
        /feature_extractor\/preprocessor_config\.json: image_std must be three numbers/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SafetyChecker', () => {
  let checker: SafetyChecker;
  beforeAll(async () => {
    checker = await SafetyChecker.load(CHECKER_FILES, sessionOptions);
  });
  afterAll(() => checker.release());

  it.each(CASES.map((c) => [c.id, c] as const))('%s: the decision matches diffusers\' has_nsfw_concept', async (_id, c) => {
    expect(await checker.isFlagged(await decodedImageOf(c, 0))).toBe(c.has_nsfw_concept);
  });

  it('withholds flagged images by seed and keeps the others in order', async () => {
    const images = await Promise.all(CASES.map((c, i) => decodedImageOf(c, 100 + i)));
    const outcome = await checker.filter(images);
    expect(outcome.withheld).toEqual(CASES.flatMap((c, i) => (c.has_nsfw_concept ? [{ seed: 100 + i, withheld: 'safety' }] : [])));
    expect(outcome.passed.map((image) => image.seed)).toEqual(CASES.flatMap((c, i) => (c.has_nsfw_concept ? [] : [100 + i])));
    expect(outcome.ms).toBeGreaterThan(0);
  });

  it('refuses, at load and naming the file, a model with another interface', async () => {
    const wrong = { ...CHECKER_FILES, model: join(TINY_SD, 'vae_decoder', 'model.onnx') };
    await expect(SafetyChecker.load(wrong, sessionOptions)).rejects.toThrow(
      /safety_checker\/model\.onnx \(.*vae_decoder\/model\.onnx\) is not a safety checker this engine can run: it has no input "clip_input"/,
    );
  });
});

describe('the safety filter as the deployment sets it', () => {
  const files = { model: undefined, preprocessorConfig: undefined };

  it('warns when the model requires a checker it does not have, or the deployment turns it off', async () => {
    const missing = await loadSafetyFilter({ ...files, required: true }, 'model', sessionOptions);
    expect(missing.state).toEqual({ active: false, warning: expect.stringMatching(/requires a safety checker but the folder has no safety_checker\/model\.onnx/) });
    const off = await loadSafetyFilter({ ...CHECKER_FILES, required: true }, 'off', sessionOptions);
    expect(off).toEqual({ checker: undefined, state: { active: false, warning: expect.stringMatching(/turned off \(safety\.checker: off\)/) } });
  });

  it('says nothing for a model that neither has nor requires one', async () => {
    expect((await loadSafetyFilter({ ...files, required: false }, 'model', sessionOptions)).state).toEqual({ active: false, warning: undefined });
  });

  it('refuses a checker without its feature extractor settings', async () => {
    await expect(loadSafetyFilter({ model: CHECKER_FILES.model, preprocessorConfig: undefined, required: true }, 'model', sessionOptions)).rejects.toThrow(
      /has safety_checker\/model\.onnx but no feature_extractor\/preprocessor_config\.json/,
    );
  });
});

describe('StableDiffusionPipeline with a safety checker', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'safety-pipeline-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // Every picture tiny-sd makes from this prompt is flagged by the oracle's random-weight checker.
  const request = { prompt: 'a cat', seed: 7, numImages: 2, steps: 2 };

  it('withholds what the checker flags and times it', async () => {
    const pipeline = await StableDiffusionPipeline.load(TINY_SD_SAFETY);
    try {
      expect(pipeline.safetyFilter).toEqual({ active: true, warning: undefined });
      const result = await pipeline.generate(request);
      expect(result.images).toEqual([]);
      expect(result.withheld).toEqual([
        { seed: 7, withheld: 'safety' },
        { seed: 8, withheld: 'safety' },
      ]);
      expect(result.timings.safetyCheckMs).toBeGreaterThan(0);
    } finally {
      await pipeline.release();
    }
  });

  it('returns every image with the checker off, and says there is no filter', async () => {
    const pipeline = await StableDiffusionPipeline.load(TINY_SD_SAFETY, { safetyChecker: 'off' });
    try {
      expect(pipeline.safetyFilter).toEqual({ active: false, warning: expect.stringMatching(/turned off/) });
      const result = await pipeline.generate(request);
      expect(result.images.map((image) => image.seed)).toEqual([7, 8]);
      expect(result.withheld).toEqual([]);
      expect(result.timings.safetyCheckMs).toBe(0);
    } finally {
      await pipeline.release();
    }
  });

  it('refuses at load a folder whose checker has the wrong interface, naming the file', async () => {
    const dir = join(scratch, 'wrong-checker');
    cpSync(TINY_SD_SAFETY, dir, { recursive: true });
    cpSync(join(TINY_SD, 'vae_decoder', 'model.onnx'), join(dir, 'safety_checker', 'model.onnx'));
    await expect(StableDiffusionPipeline.load(dir)).rejects.toThrow(/safety_checker\/model\.onnx .*is not a safety checker/);
  });
});

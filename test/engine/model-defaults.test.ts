/**
 * The model decides its defaults: `generation_defaults.json` first, then LCM's few-step settings
 * for LCM models, then the scheduler config and the API defaults; and what it can take is checked
 * against a request before any work (`checkRequestAgainstModel`, shared with the gateway).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRequestAgainstModel } from '../../contract/generation-request';
import { DEFAULTS } from '../../contract/limits';
import { readModelFolder } from '../../container/src/engine/model/model-folder';
import { resolveModelDefaults } from '../../container/src/engine/model/model-defaults';
import type { Feed } from '../../container/src/engine/onnx/model-session';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { TINY_LCM, TINY_SD, TINY_SD_LEGACY } from '../support/oracle';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'model-defaults-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyWith(source: string, name: string, files: Record<string, unknown>): string {
  const dir = join(scratch, name);
  cpSync(source, dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

describe('defaults without generation_defaults.json', () => {
  it("keep today's behaviour: the scheduler config's class, the API's steps and guidance, the native size", async () => {
    const folder = await readModelFolder(TINY_SD);
    expect(resolveModelDefaults({ ...folder, distilled: false, hasVaeEncoder: true })).toEqual({
      scheduler: 'pndm',
      steps: DEFAULTS.steps,
      guidanceScale: DEFAULTS.guidanceScale,
      width: 64,
      height: 64,
    });
    const legacy = await readModelFolder(TINY_SD_LEGACY);
    expect(resolveModelDefaults({ ...legacy, distilled: false, hasVaeEncoder: false })).toMatchObject({ width: DEFAULTS.width, height: DEFAULTS.height });
  });

  it('give an LCM-distilled model lcm, 4 steps and guidance 8.5, as diffusers LatentConsistencyModelPipeline', async () => {
    const folder = await readModelFolder(TINY_LCM);
    expect(resolveModelDefaults({ ...folder, distilled: true, hasVaeEncoder: true })).toEqual({ scheduler: 'lcm', steps: 4, guidanceScale: 8.5, width: 64, height: 64 });
  });

  it('give a plain UNet shipped with an LCMScheduler config (LCM-LoRA fused) lcm, 4 steps and guidance 1 (one UNet call per step)', async () => {
    const dir = copyWith(TINY_SD, 'lcm-lora', { 'scheduler/scheduler_config.json': { _class_name: 'LCMScheduler', beta_schedule: 'scaled_linear' } });
    const pipeline = await StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' });
    try {
      expect(pipeline.defaults).toEqual({ scheduler: 'lcm', steps: 4, guidanceScale: 1, width: 64, height: 64 });
      expect(pipeline.capabilities).toEqual({ acceptsInitImage: true, distilled: false, acceptsNegativePrompt: true });
    } finally {
      await pipeline.release();
    }
  });
});

describe('generation_defaults.json', () => {
  it('decides every default it gives, and the pipeline uses them when a request leaves them out', async () => {
    const dir = copyWith(TINY_SD, 'with-defaults', {
      'generation_defaults.json': { scheduler: 'ddim', num_inference_steps: 3, guidance_scale: 1, width: 96, height: 64 },
    });
    const pipeline = await StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' });
    try {
      expect(pipeline.defaults).toEqual({ scheduler: 'ddim', steps: 3, guidanceScale: 1, width: 96, height: 64 });
      const batches: number[] = [];
      const run = pipeline.sessions.unet.run.bind(pipeline.sessions.unet);
      jest.spyOn(pipeline.sessions.unet, 'run').mockImplementation((feeds, outputs) => {
        batches.push((feeds.sample as Feed).dims[0]);
        return run(feeds, outputs);
      });
      const result = await pipeline.generate({ prompt: 'a tree', seed: 1 });
      expect(result.parameters).toMatchObject({ scheduler: 'ddim', steps: 3, guidanceScale: 1, width: 96, height: 64 });
      expect(batches).toEqual([1, 1, 1]);
      // A request's own settings still win.
      const own = await pipeline.generate({ prompt: 'a tree', seed: 1, steps: 2, scheduler: 'euler', width: 64 });
      expect(own.parameters).toMatchObject({ scheduler: 'euler', steps: 2, width: 64, height: 64 });
    } finally {
      jest.restoreAllMocks();
      await pipeline.release();
    }
  });

  it('may give only some keys; the rest come from the model as before', async () => {
    const dir = copyWith(TINY_LCM, 'lcm-partial', { 'generation_defaults.json': { num_inference_steps: 6 } });
    const folder = await readModelFolder(dir);
    expect(resolveModelDefaults({ ...folder, distilled: true, hasVaeEncoder: true })).toEqual({ scheduler: 'lcm', steps: 6, guidanceScale: 8.5, width: 64, height: 64 });
  });

  it.each<[string, string, RegExp]>([
    ['{"steps": 4}', 'unknown key', /generation_defaults\.json: unknown key "steps"; expected scheduler, num_inference_steps/],
    ['{"scheduler": "heun"}', 'scheduler', /generation_defaults\.json: scheduler must be one of pndm, .* but is "heun"/],
    ['{"num_inference_steps": 0}', 'steps', /num_inference_steps must be an integer from 1 to 50 but is 0/],
    ['{"num_inference_steps": 2.5}', 'fractional steps', /num_inference_steps must be an integer/],
    ['{"guidance_scale": "high"}', 'guidance', /guidance_scale must be a number from 0 to 20 but is "high"/],
    ['{"width": 100}', 'width', /width must be a multiple of 8 from 64 to 1024 but is 100/],
    ['{"width": 1024, "height": 1024}', 'pixels', /width must be such that width × height is at most 589824 pixels/],
    ['[1, 2]', 'not an object', /generation_defaults\.json must hold a JSON object/],
    ['{ nope', 'not JSON', /generation_defaults\.json is not valid JSON/],
  ])('refuses %s at load time (%s), naming the file and the key', async (content, name, message) => {
    const dir = copyWith(TINY_SD_LEGACY, `bad-${name.replace(/\W/g, '-')}`, { 'generation_defaults.json': content });
    await expect(readModelFolder(dir)).rejects.toThrow(message);
    await expect(StableDiffusionPipeline.load(dir, { executionProvider: 'cpu' })).rejects.toThrow(message);
  });
});

describe('checkRequestAgainstModel', () => {
  const distilled = { acceptsInitImage: true, distilled: true, acceptsNegativePrompt: false };
  const noEncoder = { acceptsInitImage: false, distilled: false, acceptsNegativePrompt: true };

  it('refuses a negative prompt for a distilled model and an init image for a model without encoder, naming the field', () => {
    expect(checkRequestAgainstModel({ negative_prompt: 'blurry' }, distilled)).toMatchObject({ field: 'negative_prompt' });
    expect(checkRequestAgainstModel({ init_image: 'iVBORw0KGgo=' }, noEncoder)).toMatchObject({ field: 'init_image' });
  });

  it('accepts what the model takes, and an empty negative prompt anywhere', () => {
    expect(checkRequestAgainstModel({ negative_prompt: '  ', init_image: 'iVBORw0KGgo=' }, distilled)).toBeUndefined();
    expect(checkRequestAgainstModel({ negative_prompt: 'blurry' }, noEncoder)).toBeUndefined();
  });
});

/**
 * The deploy reads a model's defaults from its folder at synth (for the gateway's MODEL_INFO in
 * the modes whose engine it cannot ask); the engine reports them on /ping once the model is loaded.
 * Both must say the same for every kind of model folder, or the page would follow a model that is
 * not the deployed one.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineService } from '../../container/src/server/engine-service';
import { readModelInfo } from '../../lib/config/model-folder';
import { TINY_LCM, TINY_SD, TINY_SD_LEGACY, TINY_SD_SAFETY } from '../support/oracle';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'model-info-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyWith(source: string, name: string, files: Record<string, unknown>): string {
  const dir = join(scratch, name);
  cpSync(source, dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), JSON.stringify(content));
  return dir;
}

const folders: Array<[string, () => string]> = [
  ['a plain UNet with a VAE encoder (tiny-sd)', () => TINY_SD],
  ['a legacy export: no UNet config, no VAE encoder (tiny-sd-legacy)', () => TINY_SD_LEGACY],
  ['an LCM-distilled UNet (tiny-lcm)', () => TINY_LCM],
  ['a model with its safety checker (tiny-sd-safety)', () => TINY_SD_SAFETY],
  [
    'a plain UNet with an LCMScheduler config (LCM-LoRA fused)',
    () => copyWith(TINY_SD, 'lcm-lora', { 'scheduler/scheduler_config.json': { _class_name: 'LCMScheduler', beta_schedule: 'scaled_linear' } }),
  ],
  [
    'a DPM-Solver++ Karras default',
    () => copyWith(TINY_SD, 'karras', { 'scheduler/scheduler_config.json': { _class_name: 'DPMSolverMultistepScheduler', use_karras_sigmas: true } }),
  ],
  [
    'a folder with generation_defaults.json',
    () => copyWith(TINY_LCM, 'with-defaults', { 'generation_defaults.json': { num_inference_steps: 6, width: 96 } }),
  ],
  [
    'a folder that holds the model in its one subfolder (an unpacked tarball)',
    () => {
      const dir = join(scratch, 'unpacked');
      cpSync(TINY_LCM, join(dir, 'my-model'), { recursive: true });
      return dir;
    },
  ],
];

test.each(folders)('%s: the deploy reads what the engine reports', async (_name, folder) => {
  const dir = folder();
  const engine = await EngineService.load({ modelDir: dir, executionProvider: 'cpu', maxQueuedRequests: 0 });
  try {
    // The decoder is the deployment's choice (backend.decoder), resolved beside the folder's facts.
    const { decoder, ...model } = engine.model;
    expect(decoder).toBe('full');
    expect(readModelInfo(dir)).toEqual(model);
  } finally {
    await engine.close(0);
  }
});

test('a deployment that turns the safety checker off reports no content filter, as its engine does', async () => {
  expect(readModelInfo(TINY_SD_SAFETY).content_filter).toBe('safety_checker');
  const engine = await EngineService.load({ modelDir: TINY_SD_SAFETY, executionProvider: 'cpu', maxQueuedRequests: 0, safetyChecker: 'off' });
  try {
    // The decoder is the deployment's choice, resolved beside the folder's facts (as above).
    const { decoder, ...model } = engine.model;
    expect(decoder).toBe('full');
    expect(readModelInfo(TINY_SD_SAFETY, 'off')).toEqual(model);
    expect(engine.model.content_filter).toBe('none');
  } finally {
    await engine.close(0);
  }
});

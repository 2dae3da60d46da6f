/** Reads the diffusers oracle fixtures (see test/fixtures/oracle/README.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerName } from '../../contract/limits';
import type { GenerateOptions } from '../../container/src/engine/pipeline';

export const ORACLE_DIR = join(__dirname, '..', 'fixtures', 'oracle');
export const TINY_SD = join(ORACLE_DIR, 'models', 'tiny-sd');
/** An `AutoencoderTiny` (TAESD-shaped) in the Hub layout: `vae_decoder/`, `vae_encoder/`. */
export const TINY_TAESD = join(ORACLE_DIR, 'models', 'tiny-taesd');
export const TINY_SD_LEGACY = join(ORACLE_DIR, 'models', 'tiny-sd-legacy');
export const TINY_LCM = join(ORACLE_DIR, 'models', 'tiny-lcm');
export const TINY_SD_SAFETY = join(ORACLE_DIR, 'models', 'tiny-sd-safety');
/** The bundled, trained demo model (tools/demo-model/): the default of `npm start` and the CLI. */
export const DEMO_MODEL = join(__dirname, '..', '..', 'models', 'shapes-demo');
export const TINY_SD_FP16_EXTERNAL = join(__dirname, '..', 'fixtures', 'models', 'tiny-sd-fp16-external');

export interface ArrayRef {
  readonly file: string;
  readonly dtype: 'float32' | 'uint8';
  readonly shape: number[];
}

export interface OracleCase {
  readonly id: string;
  readonly scheduler: SchedulerName;
  readonly steps: number;
  readonly guidance_scale: number;
  readonly height: number;
  readonly width: number;
  readonly prompt: string;
  readonly negative_prompt: string;
  readonly noise_seed: number;
  readonly initial_noise: ArrayRef;
  readonly step_noise?: ArrayRef;
  readonly timesteps: number[];
  readonly latents_per_step: ArrayRef;
  readonly image_float: ArrayRef;
  readonly image_uint8: ArrayRef;
}

/** A case of `lcm.json`: `tiny-lcm` runs diffusers' LatentConsistencyModelPipeline, `tiny-sd` LCM-LoRA style. */
export interface LcmCase extends Omit<OracleCase, 'scheduler' | 'negative_prompt' | 'step_noise'> {
  readonly model: 'tiny-lcm' | 'tiny-sd';
  readonly negative_prompt?: string;
  readonly step_noise: ArrayRef;
}

/** A case of `img2img.json`: diffusers' StableDiffusionImg2ImgPipeline on `tiny-sd`. */
export interface Img2ImgCase extends Omit<OracleCase, 'negative_prompt'> {
  readonly negative_prompt?: string;
  readonly strength: number;
  readonly init_image: { readonly file: string; readonly width: number; readonly height: number };
  readonly encoder_noise: ArrayRef;
}

export function lcmCases(): LcmCase[] {
  return JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', 'lcm.json'), 'utf8')).cases;
}

export function img2imgCases(): Img2ImgCase[] {
  return JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', 'img2img.json'), 'utf8')).cases;
}

/** Path of a reference file, for tools that read it themselves (the CLI). */
export function referenceFile(file: string): string {
  return join(ORACLE_DIR, 'reference', file);
}

export function oracleCases(): OracleCase[] {
  return JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', 'cases.json'), 'utf8')).cases;
}

export function readReference(name: string): unknown {
  return JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', name), 'utf8'));
}

export function readFloat32(ref: ArrayRef): Float32Array {
  const bytes = readFileSync(join(ORACLE_DIR, 'reference', ref.file));
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function readUint8(ref: ArrayRef): Uint8Array {
  return new Uint8Array(readFileSync(join(ORACLE_DIR, 'reference', ref.file)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * Each step's latents against the reference's `latents_per_step`, relative to the step's largest
 * value; the object form names the step and the difference when it fails.
 */
export function expectLatentsClose(reference: ArrayRef, actual: readonly Float32Array[], tolerance: number): void {
  const expected = readFloat32(reference);
  const [calls] = reference.shape;
  expect(actual).toHaveLength(calls);
  const perStep = expected.length / calls;
  actual.forEach((latents, i) => {
    const step = expected.subarray(i * perStep, (i + 1) * perStep);
    const scale = Math.max(1, ...Array.from(step, Math.abs));
    const relativeDiff = maxAbsDiff(latents, step) / scale;
    expect({ step: i, relativeDiff, close: relativeDiff < tolerance }).toMatchObject({ step: i, close: true });
  });
}

/** What every reference set's generation case carries (cases, tiny-vae, lora). */
export type OracleGeneration = Pick<OracleCase, 'prompt' | 'scheduler' | 'steps' | 'guidance_scale' | 'width' | 'height' | 'initial_noise' | 'step_noise'> & {
  readonly negative_prompt?: string;
};

/** A whole generation of a reference set, with the image diffusers made. */
export type OracleGenerationCase = OracleGeneration & { readonly id: string; readonly image_float: ArrayRef };

/** A reference generation case as the engine's options: diffusers' prompt, settings and noise. */
export function oracleGenerateOptions(c: OracleGeneration): GenerateOptions {
  return {
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    scheduler: c.scheduler,
    steps: c.steps,
    guidanceScale: c.guidance_scale,
    width: c.width,
    height: c.height,
    initialNoise: readFloat32(c.initial_noise),
    stepNoise: c.step_noise ? readFloat32(c.step_noise) : undefined,
  };
}

/** A case of `img2img.json` as the engine's options, with the starting picture read from its PNG file. */
export function img2imgGenerateOptions(c: Img2ImgCase): GenerateOptions {
  return {
    prompt: c.prompt,
    negativePrompt: c.negative_prompt,
    scheduler: c.scheduler,
    steps: c.steps,
    guidanceScale: c.guidance_scale,
    initImage: readFileSync(referenceFile(c.init_image.file)),
    strength: c.strength,
    encoderNoise: readFloat32(c.encoder_noise),
    initialNoise: readFloat32(c.initial_noise),
  };
}

/** An `onStep` that keeps each step's latents and timestep, to compare with the case's. */
export function stepRecorder(): { latentsPerStep: Float32Array[]; timesteps: number[]; onStep: NonNullable<GenerateOptions['onStep']> } {
  const latentsPerStep: Float32Array[] = [];
  const timesteps: number[] = [];
  return {
    latentsPerStep,
    timesteps,
    onStep: (step) => {
      latentsPerStep.push(step.latents.slice());
      timesteps.push(step.timestep);
    },
  };
}

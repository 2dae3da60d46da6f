/**
 * Reads a Stable Diffusion 1.x model folder in the optimum / diffusers ONNX layout and refuses,
 * naming the file, anything the pipeline cannot run. External weight files next to a `model.onnx`
 * are found by onnxruntime itself, relative to the model file.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchedulerConfigJson } from '../schedulers/scheduler';
import { findSafetyCheckerFiles, type SafetyCheckerFiles } from '../safety/safety-checker-files';
import { GENERATION_DEFAULTS_FILE, parseGenerationDefaults, type GenerationDefaultsFile } from './model-defaults';
import { pathExists } from '../path-exists';

/** SD 1.x values for exports that ship no per-model `config.json` (the early diffusers script). */
const SD1_VAE_SCALING_FACTOR = 0.18215;
const SD1_UNET_BLOCKS = 4;
const VAE_SCALE_FACTOR = 8;

export interface ModelFolder {
  readonly dir: string;
  readonly textEncoderFile: string;
  readonly unetFile: string;
  readonly vaeDecoderFile: string;
  /** Present in optimum exports; needed for image-to-image only. */
  readonly vaeEncoderFile: string | undefined;
  readonly tokenizerDir: string;
  readonly schedulerConfig: SchedulerConfigJson;
  /** Latents are divided by this before the VAE decoder. */
  readonly vaeScalingFactor: number;
  /** Pixels per latent cell. */
  readonly vaeScaleFactor: number;
  /** The image size the UNet was trained for, from its `sample_size`; undefined when not stated. */
  readonly nativeSize: number | undefined;
  /**
   * Image sides the UNet takes as they are: 8 × 2^(down blocks − 1), i.e. 64 for SD 1.x, read from
   * `unet/config.json` (SD 1.x's four blocks where there is none). Other multiples of 8 are padded
   * for the UNet (see latent-padding.ts).
   */
  readonly sizeMultiple: number;
  /** `time_cond_proj_dim` of `unet/config.json`: the guidance embedding's size for LCM-distilled UNets. */
  readonly timeCondProjDim: number | undefined;
  /** The folder's own `generation_defaults.json`, validated; undefined when there is none. */
  readonly generationDefaults: GenerationDefaultsFile | undefined;
  /** The safety checker's parts, where the folder has them (see safety/safety-checker-files.ts). */
  readonly safetyChecker: SafetyCheckerFiles;
}

export async function readModelFolder(requestedDir: string): Promise<ModelFolder> {
  if (!(await pathExists(requestedDir))) throw new Error(`model folder ${requestedDir} does not exist`);
  const dir = await locateModelRoot(requestedDir);
  const require = async (relative: string, what: string): Promise<string> => {
    const file = join(dir, relative);
    if (!(await pathExists(file))) throw new Error(`model folder ${dir} is missing ${relative} (${what})`);
    return file;
  };
  const [textEncoderFile, unetFile, vaeDecoderFile, schedulerFile] = await Promise.all([
    require('text_encoder/model.onnx', 'the CLIP text encoder'),
    require('unet/model.onnx', 'the UNet'),
    require('vae_decoder/model.onnx', 'the VAE decoder'),
    require('scheduler/scheduler_config.json', 'the scheduler configuration'),
    require('tokenizer/vocab.json', 'the CLIP tokenizer vocabulary'),
    require('tokenizer/merges.txt', 'the CLIP tokenizer merges'),
  ]);
  const vaeEncoderFile = (await pathExists(join(dir, 'vae_encoder/model.onnx'))) ? join(dir, 'vae_encoder/model.onnx') : undefined;

  const schedulerConfig = await readJsonObject(schedulerFile);
  const modelIndex = (await pathExists(join(dir, 'model_index.json'))) ? await readJsonObject(join(dir, 'model_index.json')) : undefined;
  const safetyChecker = await findSafetyCheckerFiles(dir, modelIndex, pathExists);
  const unetConfig = await readOptionalJsonObject(join(dir, 'unet/config.json'));
  const vaeConfig = await readOptionalJsonObject(join(dir, 'vae_decoder/config.json'));
  const defaultsFile = join(dir, GENERATION_DEFAULTS_FILE);
  const generationDefaults = (await pathExists(defaultsFile)) ? parseGenerationDefaults(await readJsonObject(defaultsFile), GENERATION_DEFAULTS_FILE) : undefined;

  const vaeScalingFactor = positiveNumber(vaeConfig?.scaling_factor, 'vae_decoder/config.json', 'scaling_factor') ?? SD1_VAE_SCALING_FACTOR;
  const sampleSize = positiveNumber(unetConfig?.sample_size, 'unet/config.json', 'sample_size');
  const timeCondProjDim = positiveNumber(unetConfig?.time_cond_proj_dim, 'unet/config.json', 'time_cond_proj_dim');
  const blockOutChannels = unetConfig?.block_out_channels;
  const unetBlocks = Array.isArray(blockOutChannels) && blockOutChannels.length > 0 ? blockOutChannels.length : SD1_UNET_BLOCKS;
  return {
    dir,
    textEncoderFile,
    unetFile,
    vaeDecoderFile,
    vaeEncoderFile,
    tokenizerDir: join(dir, 'tokenizer'),
    schedulerConfig,
    vaeScalingFactor,
    vaeScaleFactor: VAE_SCALE_FACTOR,
    nativeSize: sampleSize === undefined ? undefined : sampleSize * VAE_SCALE_FACTOR,
    sizeMultiple: VAE_SCALE_FACTOR * 2 ** (unetBlocks - 1),
    timeCondProjDim,
    generationDefaults,
    safetyChecker,
  };
}

/**
 * A `model.tar.gz` made with `tar czf model.tar.gz my-model/` unpacks into a subfolder of
 * /opt/ml/model; accept that single subfolder rather than make operators re-pack their archive.
 */
async function locateModelRoot(dir: string): Promise<string> {
  if (await pathExists(join(dir, 'unet'))) return dir;
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
  if (folders.length === 1 && (await pathExists(join(dir, folders[0].name, 'unet')))) return join(dir, folders[0].name);
  return dir;
}


async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

async function readOptionalJsonObject(file: string): Promise<Record<string, unknown> | undefined> {
  return (await pathExists(file)) ? readJsonObject(file) : undefined;
}

function positiveNumber(value: unknown, file: string, key: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`${file}: ${key} must be a positive number but is ${JSON.stringify(value)}`);
  return value;
}

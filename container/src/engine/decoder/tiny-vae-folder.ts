/**
 * Finds a tiny VAE (TAESD, diffusers' `AutoencoderTiny`) in the Hugging Face Hub layout of its ONNX
 * exports (`vae_decoder/model.onnx` + `vae_decoder/config.json`, as `deinferno/taesd-onnx` ships
 * it): a folder given outright, else `taesd/` inside the model folder, else `taesd/` beside it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathExists } from '../path-exists';

/** The folder name the engine looks for, inside or beside a model; `npm run model -- fetch --tiny-vae` writes it. */
export const TINY_VAE_FOLDER = 'taesd';
const DECODER_FILE = join('vae_decoder', 'model.onnx');
const CONFIG_FILE = join('vae_decoder', 'config.json');
/** `AutoencoderTiny`'s default: TAESD takes the UNet's latents unscaled. */
const DEFAULT_SCALING_FACTOR = 1.0;

export interface TinyVaeFolder {
  readonly dir: string;
  readonly decoderFile: string;
  /** The latents are divided by this decoder's own factor, not the full VAE's 0.18215. */
  readonly scalingFactor: number;
}

/** Where the engine looks for a tiny VAE when none is given: inside the model folder, then beside it. */
export function tinyVaeCandidates(modelDir: string): string[] {
  return [join(modelDir, TINY_VAE_FOLDER), join(dirname(modelDir), TINY_VAE_FOLDER)];
}

/**
 * The given folder (refused, naming what is missing, when it is not a tiny VAE), else the first
 * candidate that holds a decoder, else undefined.
 */
export async function locateTinyVae(modelDir: string, explicitDir?: string): Promise<TinyVaeFolder | undefined> {
  if (explicitDir !== undefined) return readTinyVaeFolder(explicitDir);
  for (const dir of tinyVaeCandidates(modelDir)) {
    if (await pathExists(join(dir, DECODER_FILE))) return readTinyVaeFolder(dir);
  }
  return undefined;
}

export async function readTinyVaeFolder(dir: string): Promise<TinyVaeFolder> {
  const decoderFile = join(dir, DECODER_FILE);
  if (!(await pathExists(decoderFile))) throw new Error(`tiny VAE folder ${dir} is missing ${DECODER_FILE} (the TAESD decoder, Hub layout)`);
  const configFile = join(dir, CONFIG_FILE);
  let scalingFactor = DEFAULT_SCALING_FACTOR;
  if (await pathExists(configFile)) {
    let config: unknown;
    try {
      config = JSON.parse(await readFile(configFile, 'utf8'));
    } catch (error) {
      throw new Error(`${configFile}: not valid JSON: ${(error as Error).message}`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`${configFile}: must be a JSON object`);
    const className = (config as Record<string, unknown>)._class_name;
    if (className !== undefined && className !== 'AutoencoderTiny') {
      throw new Error(`${configFile}: _class_name is ${JSON.stringify(className)}; a tiny VAE decoder is an AutoencoderTiny (TAESD)`);
    }
    const value = (config as Record<string, unknown>).scaling_factor;
    if (value !== undefined) {
      if (typeof value !== 'number' || !(value > 0)) throw new Error(`${configFile}: scaling_factor must be a positive number but is ${JSON.stringify(value)}`);
      scalingFactor = value;
    }
  }
  return { dir, decoderFile, scalingFactor };
}

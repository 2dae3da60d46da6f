import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  GENERATION_DEFAULTS_FILE,
  modelCapabilities,
  modelInfoOf,
  parseGenerationDefaults,
  resolveModelDefaults,
} from '../../contract/model-defaults';
import type { ModelInfo } from '../../contract/model-info';
import { DEFAULT_SAFETY_CHECKER, SAFETY_CHECKER_MODEL, type SafetyCheckerSetting } from '../../contract/safety';

/** Pixels per latent cell of the SD 1.x VAE: a UNet `sample_size` of 64 is a 512-pixel image. */
const VAE_SCALE_FACTOR = 8;

/**
 * What a local model folder's engine will report on `/ping`, read at synth from the same files
 * and by the same rules (`contract/model-defaults.ts`): `generation_defaults.json`, the scheduler
 * config's `_class_name`, `unet/config.json`'s `sample_size` and `time_cond_proj_dim` (an
 * LCM-distilled UNet), and whether there is a VAE encoder. The gateway passes it on in
 * `/v1/status` in the modes whose engine it cannot ask.
 * @throws Error naming the file when one is missing or invalid
 */
/** Whether the folder carries a tiny VAE where the deployed engine looks (`taesd/`, fetched by `--tiny-vae`). */
export function hasTinyVae(requestedFolder: string): boolean {
  return existsSync(path.join(modelRoot(requestedFolder), 'taesd', 'vae_decoder', 'model.onnx'));
}

export function readModelInfo(requestedFolder: string, safetyChecker: SafetyCheckerSetting = DEFAULT_SAFETY_CHECKER): ModelInfo {
  const folder = modelRoot(requestedFolder);
  const schedulerConfig = readJsonObject(folder, 'scheduler/scheduler_config.json');
  const unetConfig = existsSync(path.join(folder, 'unet/config.json')) ? readJsonObject(folder, 'unet/config.json') : {};
  const generationDefaults = existsSync(path.join(folder, GENERATION_DEFAULTS_FILE))
    ? parseGenerationDefaults(readJsonObject(folder, GENERATION_DEFAULTS_FILE), GENERATION_DEFAULTS_FILE)
    : undefined;
  const sampleSize = positiveNumber(unetConfig.sample_size, 'unet/config.json', 'sample_size');
  const traits = {
    schedulerConfig,
    nativeSize: sampleSize === undefined ? undefined : sampleSize * VAE_SCALE_FACTOR,
    distilled: positiveNumber(unetConfig.time_cond_proj_dim, 'unet/config.json', 'time_cond_proj_dim') !== undefined,
    hasVaeEncoder: existsSync(path.join(folder, 'vae_encoder/model.onnx')),
    generationDefaults,
  };
  // The engine's rule (safety-filter.ts): the checker runs when it is on and the folder has one.
  const filtered = safetyChecker === 'model' && existsSync(path.join(folder, SAFETY_CHECKER_MODEL));
  return { ...modelInfoOf(resolveModelDefaults(traits), modelCapabilities(traits)), content_filter: filtered ? 'safety_checker' : 'none' };
}

/**
 * The engine's rule (`locateModelRoot` in container/src/engine/model/model-folder.ts): a folder
 * packed as `tar czf model.tar.gz my-model/` holds the model in its single subfolder.
 */
function modelRoot(folder: string): string {
  if (existsSync(path.join(folder, 'unet'))) return folder;
  const subfolders = readdirSync(folder, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
  if (subfolders.length === 1 && existsSync(path.join(folder, subfolders[0].name, 'unet'))) return path.join(folder, subfolders[0].name);
  return folder;
}

export interface FolderBytes {
  /** Every file under the folder. */
  readonly bytes: number;
  /**
   * The graphs (`model.onnx`): their weights where a part keeps them inline, which slows its
   * session's creation (`npm run model -- externalize` moves them out); a graph alone is a few MB.
   */
  readonly graphBytes: number;
}

/** The sizes of a model folder's files, in one walk. */
export function folderBytes(folder: string): FolderBytes {
  let bytes = 0;
  let graphBytes = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      const inner = folderBytes(full);
      bytes += inner.bytes;
      graphBytes += inner.graphBytes;
      continue;
    }
    const size = statSync(full).size;
    bytes += size;
    if (entry.name === 'model.onnx') graphBytes += size;
  }
  return { bytes, graphBytes };
}

function readJsonObject(folder: string, relative: string): Record<string, unknown> {
  const file = path.join(folder, relative);
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

function positiveNumber(value: unknown, file: string, key: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`${file}: ${key} must be a positive number but is ${JSON.stringify(value)}`);
  return value;
}

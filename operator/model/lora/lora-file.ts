/**
 * The modules of a LoRA file, in either of the two key layouts met on the Hub and on model sites:
 * - kohya: `lora_unet_<path with _>.lora_down.weight`, `.lora_up.weight`, `.alpha`
 *   (`lora_te_…` for the text encoder); the delta is alpha / rank × up @ down.
 * - diffusers / peft: `unet.<path>.lora_A.weight` / `.lora_B.weight` (older diffusers:
 *   `.lora.down.weight` / `.lora.up.weight`), `text_encoder.<path>…`; no alpha means alpha = rank.
 */
import { moduleKey } from './onnx-weights';
import { SafetensorsError, type SafetensorsFile, type TensorInfo } from './safetensors';

export type ModelPart = 'unet' | 'text_encoder';
export const MODEL_PARTS: readonly ModelPart[] = ['unet', 'text_encoder'];

export interface LoraModule {
  readonly part: ModelPart;
  /** The key prefix as the file spells it, for messages. */
  readonly name: string;
  /** The module path in `moduleKey` form. */
  readonly key: string;
  readonly down: TensorInfo;
  readonly up: TensorInfo;
  readonly alpha?: TensorInfo;
  readonly rank: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

const SUFFIXES: ReadonlyArray<readonly [suffix: string, role: 'down' | 'up' | 'alpha']> = [
  ['.lora_down.weight', 'down'],
  ['.lora_up.weight', 'up'],
  ['.lora_A.weight', 'down'],
  ['.lora_B.weight', 'up'],
  ['.lora.down.weight', 'down'],
  ['.lora.up.weight', 'up'],
  ['.alpha', 'alpha'],
];

const PREFIXES: ReadonlyArray<readonly [prefix: string, part: ModelPart]> = [
  ['lora_unet_', 'unet'],
  ['lora_te_', 'text_encoder'],
  ['unet.', 'unet'],
  ['text_encoder.', 'text_encoder'],
];

export interface LoraContents {
  readonly modules: LoraModule[];
  /** Keys that name no module of either part (another model family's LoRA, or a format this reader does not know). */
  readonly unknownKeys: string[];
}

export function loraModules(file: SafetensorsFile): LoraContents {
  const groups = new Map<string, { part: ModelPart; path: string; down?: TensorInfo; up?: TensorInfo; alpha?: TensorInfo }>();
  const unknownKeys: string[] = [];
  for (const [name, info] of file.tensors) {
    const suffix = SUFFIXES.find(([s]) => name.endsWith(s));
    const prefix = PREFIXES.find(([p]) => name.startsWith(p));
    if (!suffix || !prefix) {
      unknownKeys.push(name);
      continue;
    }
    const moduleName = name.slice(0, -suffix[0].length);
    const group = groups.get(moduleName) ?? { part: prefix[1], path: moduleName.slice(prefix[0].length) };
    group[suffix[1]] = info;
    groups.set(moduleName, group);
  }
  const modules: LoraModule[] = [];
  for (const [name, group] of groups) {
    const fail = (message: string) => new SafetensorsError(file.path, `${name}: ${message}`);
    if (!group.down || !group.up) throw fail(`has ${group.down ? 'a down' : 'an up'} matrix but no ${group.down ? 'up' : 'down'} matrix`);
    const down = matrixDims(group.down, fail);
    const up = matrixDims(group.up, fail);
    if (down.rows !== up.cols) throw fail(`the rank disagrees: down is [${group.down.shape.join(', ')}] (rank ${down.rows}) but up is [${group.up.shape.join(', ')}] (rank ${up.cols})`);
    if (down.rows === 0) throw fail('has rank 0');
    if (group.alpha && group.alpha.shape.reduce((p, d) => p * d, 1) !== 1) throw fail(`alpha has shape [${group.alpha.shape.join(', ')}], not a single number`);
    modules.push({
      part: group.part,
      name,
      key: moduleKey(group.path),
      down: group.down,
      up: group.up,
      alpha: group.alpha,
      rank: down.rows,
      inFeatures: down.cols,
      outFeatures: up.rows,
    });
  }
  return { modules, unknownKeys };
}

/** A linear layer's [out, in], or a 1×1 convolution's [out, in, 1, 1]. */
function matrixDims(info: TensorInfo, fail: (message: string) => Error): { rows: number; cols: number } {
  const [rows, cols, ...kernel] = info.shape;
  if (info.shape.length === 2 || (info.shape.length === 4 && kernel.every((k) => k === 1))) return { rows, cols };
  throw fail(`${info.name} has shape [${info.shape.join(', ')}]; only linear layers and 1×1 convolutions are fused`);
}

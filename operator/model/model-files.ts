/**
 * Which files of an SD 1.x ONNX export the engine reads (see container/src/engine/model/model-folder.ts):
 * the component folders' `model.onnx` with its external weights (`model.onnx_data`, the legacy
 * exporter's `weights.pb`, loose tensor files) and `config.json`, the tokenizer, the scheduler
 * configuration and `model_index.json`, and the safety checker with its feature extractor where
 * asked. Repositories also carry PyTorch weights for diffusers and other ONNX variants: gigabytes
 * the engine never opens.
 */
import type { RemoteFile } from './hub-listing';

/** Folders the engine loads. */
const ENGINE_FOLDERS = ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder', 'tokenizer', 'scheduler'];
/** diffusers' NSFW filter and its image preprocessing; the engine runs them when they are there (safety.checker). */
const SAFETY_CHECKER_FOLDERS = ['safety_checker', 'feature_extractor'];
const ROOT_FILES = ['model_index.json'];
/** Weights for PyTorch, safetensors, Flax and TensorFlow loaders. */
const FOREIGN_WEIGHTS = /\.(bin|safetensors|ckpt|pt|pth|msgpack|h5|ot)$/i;
/** The one ONNX graph per component the engine loads. */
const ENGINE_GRAPH = 'model.onnx';

export interface FileSelection {
  readonly take: readonly RemoteFile[];
  readonly skip: ReadonlyArray<{ readonly path: string; readonly reason: string }>;
}

export interface SelectionOptions {
  /** Also take `safety_checker/` and `feature_extractor/`. @default false */
  readonly withSafetyChecker?: boolean;
}

export function selectModelFiles(files: readonly RemoteFile[], options: SelectionOptions = {}): FileSelection {
  const folders = new Set([...ENGINE_FOLDERS, ...(options.withSafetyChecker ? SAFETY_CHECKER_FOLDERS : [])]);
  const take: RemoteFile[] = [];
  const skip: Array<{ path: string; reason: string }> = [];
  for (const file of files) {
    const reason = skipReason(file.path, folders, options.withSafetyChecker ?? false, files);
    if (reason) skip.push({ path: file.path, reason });
    else take.push(file);
  }
  return { take, skip };
}

function skipReason(path: string, folders: ReadonlySet<string>, withSafetyChecker: boolean, all: readonly RemoteFile[]): string | undefined {
  const parts = path.split('/');
  if (parts.length === 1) return ROOT_FILES.includes(path) ? undefined : 'not read by the engine';
  if (parts.length > 2) return 'nested deeper than the engine looks';
  const [folder, name] = parts;
  // Also keeps `unet/..` and friends from naming a path outside the model folder.
  if (name.startsWith('.')) return 'hidden file';
  if (!folders.has(folder)) {
    return SAFETY_CHECKER_FOLDERS.includes(folder) && !withSafetyChecker ? 'safety checker, not taken' : 'folder not used by the engine';
  }
  if (FOREIGN_WEIGHTS.test(name)) return 'PyTorch / safetensors weights; the engine runs the ONNX graph';
  if (name.endsWith('.onnx') && name !== ENGINE_GRAPH) return `another ONNX variant; the engine loads ${ENGINE_GRAPH}`;
  const owner = otherGraphOwning(name, folder, all);
  if (owner) return `external data of ${folder}/${owner}, which the engine does not load`;
  return undefined;
}

/** `model_fp16.onnx_data` belongs to `model_fp16.onnx`, not to the engine's `model.onnx`. */
function otherGraphOwning(name: string, folder: string, all: readonly RemoteFile[]): string | undefined {
  if (name.startsWith(ENGINE_GRAPH)) return undefined;
  return all
    .map((file) => file.path.split('/'))
    .filter((parts) => parts.length === 2 && parts[0] === folder && parts[1].endsWith('.onnx') && parts[1] !== ENGINE_GRAPH)
    .map((parts) => parts[1])
    .find((graph) => name.startsWith(graph));
}

/** The file whose absence means the revision is not an ONNX export at all. */
export const ONNX_MARKER = `unet/${ENGINE_GRAPH}`;

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What the operator asks for; `auto` takes CUDA when both the provider and a GPU are present. */
export type ExecutionProviderChoice = 'cpu' | 'cuda' | 'auto';
export const EXECUTION_PROVIDER_CHOICES: readonly ExecutionProviderChoice[] = ['cpu', 'cuda', 'auto'];

export interface CudaAvailability {
  readonly providerInstalled: boolean;
  readonly gpuVisible: boolean;
  readonly providerPath: string;
}

/**
 * The CPU package of onnxruntime-node does not bundle the CUDA provider: its install script fetches
 * `libonnxruntime_providers_cuda.so` separately (`ONNXRUNTIME_NODE_INSTALL=cuda12`). Checking the
 * file gives a clear error instead of onnxruntime's opaque one at session creation.
 */
export function detectCuda(): CudaAvailability {
  const packageDist = dirname(require.resolve('onnxruntime-node'));
  const providerPath = join(packageDist, '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
  const gpuVisible = existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
  return { providerInstalled: existsSync(providerPath), gpuVisible, providerPath };
}

/** Turns the operator's choice into onnxruntime execution provider names, or explains why not. */
export function resolveExecutionProviders(
  choice: ExecutionProviderChoice,
  cuda: CudaAvailability = detectCuda(),
): Array<'cuda' | 'cpu'> {
  if (choice === 'cpu') return ['cpu'];
  const usable = cuda.providerInstalled && cuda.gpuVisible;
  if (choice === 'auto') return usable ? ['cuda', 'cpu'] : ['cpu'];
  if (!cuda.providerInstalled) {
    throw new Error(
      `execution provider "cuda" was requested but onnxruntime-node has no CUDA provider (${cuda.providerPath} is missing); ` +
        'install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12, or set the execution provider to "cpu" or "auto"',
    );
  }
  if (!cuda.gpuVisible) {
    throw new Error(
      'execution provider "cuda" was requested but no NVIDIA GPU is visible (/dev/nvidia0 is missing); ' +
        'run on a GPU instance with the NVIDIA driver, or set the execution provider to "cpu" or "auto"',
    );
  }
  // CPU stays as the fallback for the few operators the CUDA provider does not implement.
  return ['cuda', 'cpu'];
}

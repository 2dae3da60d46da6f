/**
 * How much memory one generation may hold at once. `default` is the fastest layout (a guided step
 * is one UNet call on a batch of 2 × images; onnxruntime keeps its arena and memory patterns).
 * `bounded` is for hosts with a hard memory cap such as AWS Lambda's 10,240 MB: every UNet call
 * is a batch of one, so the UNet's activations do not grow with guidance or `numImages`, and
 * onnxruntime's arena holds one batch-of-one run's activations for the UNet and the decoders, while
 * the other parts hand memory back after each run (see `memorySessionOptions` in
 * onnx/model-session.ts). The VAE decodes one image at a time in
 * both modes; at 512×512 its activations are below the UNet's, so it is not tiled. The numbers are the same within float32
 * rounding; a guided step costs two UNet calls instead of one.
 */
export type MemoryMode = 'default' | 'bounded';

export const MEMORY_MODES: readonly MemoryMode[] = ['default', 'bounded'];

export function isMemoryMode(value: unknown): value is MemoryMode {
  return typeof value === 'string' && (MEMORY_MODES as readonly string[]).includes(value);
}

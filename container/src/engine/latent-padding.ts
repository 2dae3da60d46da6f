/**
 * ONNX exports of the UNet are traced with latents that every down block halves evenly; at other
 * sizes the upsampled tensor and its skip connection disagree by one cell and onnxruntime fails.
 * diffusers' PyTorch UNet avoids this by passing the skip's size to the upsampler, which an export
 * cannot. So the UNet sees latents padded (edge values repeated) up to the next size it accepts,
 * and its prediction is cropped back: every multiple of 8 works, and sizes the export accepts as
 * they are run unpadded, exactly as diffusers.
 */
export interface LatentPadding {
  readonly height: number;
  readonly width: number;
  readonly paddedHeight: number;
  readonly paddedWidth: number;
}

export function latentPaddingFor(height: number, width: number, multiple: number): LatentPadding | undefined {
  const paddedHeight = Math.ceil(height / multiple) * multiple;
  const paddedWidth = Math.ceil(width / multiple) * multiple;
  return paddedHeight === height && paddedWidth === width ? undefined : { height, width, paddedHeight, paddedWidth };
}

/** NCHW `source` [planes, height, width] → `target` [planes, paddedHeight, paddedWidth], edges repeated. */
export function padLatents(source: Float32Array, target: Float32Array, padding: LatentPadding): void {
  const { height, width, paddedHeight, paddedWidth } = padding;
  const planes = source.length / (height * width);
  for (let plane = 0; plane < planes; plane++) {
    const from = plane * height * width;
    const to = plane * paddedHeight * paddedWidth;
    for (let y = 0; y < paddedHeight; y++) {
      const row = from + Math.min(y, height - 1) * width;
      const out = to + y * paddedWidth;
      target.set(source.subarray(row, row + width), out);
      target.fill(source[row + width - 1], out + width, out + paddedWidth);
    }
  }
}

/** The inverse of `padLatents`: keeps the top-left height × width of every plane. */
export function cropLatents(source: Float32Array, target: Float32Array, padding: LatentPadding): void {
  const { height, width, paddedHeight, paddedWidth } = padding;
  const planes = target.length / (height * width);
  for (let plane = 0; plane < planes; plane++) {
    for (let y = 0; y < height; y++) {
      const row = plane * paddedHeight * paddedWidth + y * paddedWidth;
      target.set(source.subarray(row, row + width), plane * height * width + y * width);
    }
  }
}

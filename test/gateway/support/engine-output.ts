import sharp from 'sharp';
import type { GenerationResponse } from '../../../contract/engine-response';

/** A real PNG of the given size, as the engine would encode it. */
export async function pngOf(width: number, height: number, shade = 128): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: 64, b: 255 - shade } } })
    .png()
    .toBuffer();
}

/** The engine's `/invocations` JSON for `count` images. */
export async function engineResponse(count = 1, size = 64): Promise<GenerationResponse> {
  const images = await Promise.all(
    Array.from({ length: count }, async (_, index) => ({
      data: (await pngOf(size, size, 40 * index)).toString('base64'),
      format: 'png' as const,
      width: size,
      height: size,
      seed: 1000 + index,
    })),
  );
  return {
    images,
    timings: { queue_ms: 1, encode_prompt_ms: 2, denoise_ms: 300, decode_ms: 20, total_ms: 1500 },
    parameters: { steps: 25, guidance_scale: 7.5, width: size, height: size, scheduler: 'pndm', num_images: count },
  };
}

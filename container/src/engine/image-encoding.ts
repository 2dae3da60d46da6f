import sharp from 'sharp';
import type { OutputFormat } from '../../../contract/limits';
import type { DecodedImage } from './pipeline';

/** `round(x * 255)`, as diffusers' `numpy_to_pil`; sharp needs Uint8 input (float input encodes wrongly). */
export function toUint8(pixels: Float32Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = Math.round(pixels[i] * 255);
  return out;
}

/** Encodes a decoded RGB image; lossy formats at quality 90, which is visually lossless for SD output. */
export async function encodeImage(image: DecodedImage, format: OutputFormat): Promise<Buffer> {
  const raw = sharp(Buffer.from(toUint8(image.pixels).buffer), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  switch (format) {
    case 'png':
      return raw.png().toBuffer();
    case 'jpeg':
      return raw.jpeg({ quality: 90, mozjpeg: true }).toBuffer();
    case 'webp':
      return raw.webp({ quality: 90 }).toBuffer();
  }
}

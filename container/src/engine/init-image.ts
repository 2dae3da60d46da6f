/**
 * The picture image-to-image starts from, prepared as diffusers' `load_image` and
 * `VaeImageProcessor.preprocess` prepare a PIL image: EXIF orientation applied, RGB (alpha dropped,
 * not composited, as PIL's `convert("RGB")`), resized, then `x / 255 * 2 − 1` in NCHW.
 *
 * Resizing uses sharp's `fit: 'cover'` with the lanczos3 kernel: scaled to cover the output size
 * and centre-cropped, i.e. diffusers' `resize_mode="crop"` (its default mode stretches instead, which
 * distorts a picture whose aspect ratio differs from the output's). A picture already of the output
 * size is not resampled at all, so the oracle's init images go in exactly as diffusers read them.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { LIMITS } from '../../../contract/limits';
import { InvalidGenerationInputError } from './errors';

/** Decoded 8-bit RGB pixels, row-major HWC. */
export interface RgbPixels {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Encoded PNG, JPEG or WebP bytes, or already decoded RGB pixels. */
export type InitImageInput = Uint8Array | RgbPixels;

export interface InitImageSource {
  /** Size after EXIF orientation. */
  readonly width: number;
  readonly height: number;
  /** `[1, 3, height, width]` in [-1, 1], resized (cover, lanczos3) where the size differs. */
  toModelInput(width: number, height: number): Promise<Float32Array>;
}

const FIELD = 'init_image';

/** Refuses anything but a PNG, JPEG or WebP within the pixel limit, reading only its header. */
export async function openInitImage(input: InitImageInput): Promise<InitImageSource> {
  if (input instanceof Uint8Array) return openEncoded(input);
  const { pixels, width, height } = input;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || pixels.length !== width * height * 3) {
    throw new InvalidGenerationInputError(FIELD, `init_image pixels must be ${width} × ${height} × 3 RGB bytes but are ${pixels.length}`);
  }
  checkPixelCount(width, height);
  return source(width, height, () => sharp(pixels, { raw: { width, height, channels: 3 } }));
}

/** A data: URL's or plain base64's bytes (the API's `init_image`). */
export function decodeBase64Image(text: string): Buffer {
  return Buffer.from(text.replace(/^data:image\/[a-z]+;base64,/, ''), 'base64');
}

/**
 * The output size for an init image when the request leaves a side out: the picture's own size,
 * or with one side given the other at the picture's aspect ratio; scaled down where needed to fit
 * the request limits (side and pixel count), each side rounded down to `multiple`.
 */
export function outputSizeForImage(
  width: number,
  height: number,
  multiple: number,
  given: { readonly width?: number; readonly height?: number } = {},
): { width: number; height: number } {
  const round = (side: number) => Math.floor(side / multiple) * multiple;
  let size: { width: number; height: number };
  if (given.width !== undefined) {
    size = { width: given.width, height: round(Math.min((given.width * height) / width, LIMITS.sizeMax, LIMITS.maxPixels / given.width)) };
  } else if (given.height !== undefined) {
    size = { width: round(Math.min((given.height * width) / height, LIMITS.sizeMax, LIMITS.maxPixels / given.height)), height: given.height };
  } else {
    const scale = Math.min(1, Math.sqrt(LIMITS.maxPixels / (width * height)), LIMITS.sizeMax / width, LIMITS.sizeMax / height);
    size = { width: round(width * scale), height: round(height * scale) };
  }
  if (size.width < LIMITS.sizeMin || size.height < LIMITS.sizeMin) {
    throw new InvalidGenerationInputError(
      FIELD,
      `init_image is ${width} × ${height} pixels, which makes a ${size.width} × ${size.height} image; give width and height, ` +
        `or a picture that makes both sides at least ${LIMITS.sizeMin}`,
    );
  }
  return size;
}

async function openEncoded(bytes: Uint8Array): Promise<InitImageSource> {
  const format = sniffFormat(bytes);
  if (format === undefined) throw new InvalidGenerationInputError(FIELD, 'init_image must be a PNG, JPEG or WebP image');
  // `failOn: 'warning'` (sharp's default, stated): a truncated or corrupt file is refused, not half-read.
  const open = () => sharp(bytes, { autoOrient: true, failOn: 'warning', limitInputPixels: LIMITS.initImageMaxPixels });
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { failOn: 'warning' }).metadata();
  } catch (error) {
    throw new InvalidGenerationInputError(FIELD, `init_image is not a readable ${format} image: ${(error as Error).message}`);
  }
  if (metadata.format !== format.toLowerCase()) {
    throw new InvalidGenerationInputError(FIELD, `init_image must be a PNG, JPEG or WebP image but decodes as ${metadata.format}`);
  }
  checkPixelCount(metadata.width, metadata.height);
  return source(metadata.autoOrient.width, metadata.autoOrient.height, open);
}

function source(width: number, height: number, open: () => Sharp): InitImageSource {
  return {
    width,
    height,
    async toModelInput(outWidth, outHeight) {
      let image = open().toColourspace('srgb').removeAlpha();
      if (outWidth !== width || outHeight !== height) image = image.resize(outWidth, outHeight, { fit: 'cover', kernel: 'lanczos3' });
      let data: Buffer;
      try {
        data = await image.raw({ depth: 'uchar' }).toBuffer();
      } catch (error) {
        throw new InvalidGenerationInputError(FIELD, `init_image could not be decoded: ${(error as Error).message}`);
      }
      return hwcToChwSigned(data, outWidth, outHeight);
    },
  };
}

function checkPixelCount(width: number, height: number): void {
  if (width * height > LIMITS.initImageMaxPixels) {
    throw new InvalidGenerationInputError(
      FIELD,
      `init_image is ${width} × ${height} = ${width * height} pixels; at most ${LIMITS.initImageMaxPixels} are accepted`,
    );
  }
}

/** By magic number, so that nothing but these three decoders (no SVG, no TIFF) ever sees the bytes. */
function sniffFormat(bytes: Uint8Array): 'PNG' | 'JPEG' | 'WEBP' | undefined {
  const ascii = (start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 8) === 'PNG\r\n\x1a\n') return 'PNG';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'JPEG';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WEBP';
  return undefined;
}

/** 8-bit HWC RGB → float32 NCHW in [-1, 1], rounding as diffusers' `x / 255.0` then `2 * x - 1` in float32. */
function hwcToChwSigned(hwc: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const chw = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) chw[c * plane + p] = 2 * Math.fround(hwc[p * 3 + c] / 255) - 1;
  }
  return chw;
}

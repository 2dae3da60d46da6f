/**
 * transformers' `CLIPImageProcessor` as `feature_extractor/preprocessor_config.json` configures it,
 * applied the way diffusers' ONNX pipeline feeds its safety checker: the decoded image as 8-bit RGB
 * (`numpy_to_pil`), shortest edge resized to `size` with `resample`, centre-cropped to `crop_size`,
 * scaled by `rescale_factor`, normalized with `image_mean` / `image_std`, channels first.
 *
 * The resize is PIL's own algorithm (see pil-resample.ts for why not sharp's).
 */
import { readFile } from 'node:fs/promises';
import { PIL_FILTERS, pilResize } from './pil-resample';

export interface ClipImageProcessorConfig {
  /** Shortest edge after resizing; undefined when `do_resize` is false. */
  readonly shortestEdge: number | undefined;
  /** PIL's filter number (`resample`). */
  readonly resample: number;
  /** Square crop side; undefined when `do_center_crop` is false. */
  readonly cropSize: { readonly width: number; readonly height: number } | undefined;
  readonly rescaleFactor: number | undefined;
  readonly mean: readonly [number, number, number] | undefined;
  readonly std: readonly [number, number, number] | undefined;
}

/** Reads and checks `preprocessor_config.json`, naming the file and key it refuses. */
export async function readClipImageProcessorConfig(file: string, label: string): Promise<ClipImageProcessorConfig> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${label} could not be read as JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${label} must hold a JSON object`);
  const fail = (key: string, expected: string): never => {
    throw new Error(`${label}: ${key} must be ${expected} but is ${JSON.stringify(json[key])}`);
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const value = json[key] ?? fallback;
    return typeof value === 'boolean' ? value : fail(key, 'true or false');
  };
  const side = (key: string, field: 'shortest_edge' | 'height'): number => {
    // Old configs give a number; newer ones {shortest_edge} or {height, width}.
    const value = json[key];
    const raw = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : value;
    return typeof raw === 'number' && Number.isInteger(raw) && raw > 0 ? raw : fail(key, 'a positive integer (or an object with one)');
  };
  const triple = (key: string): readonly [number, number, number] => {
    const value = json[key];
    return Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number' && Number.isFinite(v))
      ? (value as [number, number, number])
      : fail(key, 'three numbers');
  };
  const resample = json.resample ?? 3;
  if (typeof resample !== 'number' || PIL_FILTERS[resample] === undefined) fail('resample', `one of PIL's filters ${Object.keys(PIL_FILTERS).join(', ')}`);
  const std = flag('do_normalize', true) ? triple('image_std') : undefined;
  if (std?.some((value) => value === 0)) fail('image_std', 'non-zero');
  const rescaleFactor = json.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !(rescaleFactor > 0)) fail('rescale_factor', 'a positive number');
  const crop = flag('do_center_crop', true) ? side('crop_size', 'height') : undefined;
  return {
    shortestEdge: flag('do_resize', true) ? side('size', 'shortest_edge') : undefined,
    resample: resample as number,
    cropSize: crop === undefined ? undefined : { width: crop, height: crop },
    rescaleFactor: flag('do_rescale', true) ? (rescaleFactor as number) : undefined,
    mean: std === undefined ? undefined : triple('image_mean'),
    std,
  };
}

export interface ProcessedImage {
  /** `[1, 3, height, width]`, channels first. */
  readonly pixelValues: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** 8-bit RGB (HWC) → the checker's `clip_input`. */
export function preprocessForClip(rgb: Uint8Array, width: number, height: number, config: ClipImageProcessorConfig): ProcessedImage {
  let pixels = rgb;
  let [w, h] = [width, height];
  if (config.shortestEdge !== undefined) {
    // transformers' get_resize_output_image_size: the long side is int(size × long / short), truncated.
    const short = Math.min(w, h);
    const long = Math.max(w, h);
    const scaledLong = Math.trunc((config.shortestEdge * long) / short);
    const [newWidth, newHeight] = w <= h ? [config.shortestEdge, scaledLong] : [scaledLong, config.shortestEdge];
    if (newWidth !== w || newHeight !== h) {
      pixels = pilResize(rgb, w, h, newWidth, newHeight, config.resample);
      [w, h] = [newWidth, newHeight];
    }
  }
  const crop = config.cropSize ?? { width: w, height: h };
  if (crop.width > w || crop.height > h) throw new Error(`the picture (${w}×${h} after resizing) is smaller than the crop (${crop.width}×${crop.height})`);
  // transformers' center_crop: the top-left corner at ((h − crop) // 2, (w − crop) // 2).
  const top = Math.floor((h - crop.height) / 2);
  const left = Math.floor((w - crop.width) / 2);
  const plane = crop.width * crop.height;
  const out = new Float32Array(3 * plane);
  const scale = config.rescaleFactor ?? 1;
  for (let y = 0; y < crop.height; y++) {
    for (let x = 0; x < crop.width; x++) {
      const from = ((top + y) * w + left + x) * 3;
      for (let c = 0; c < 3; c++) {
        const value = Math.fround(pixels[from + c] * scale);
        out[c * plane + y * crop.width + x] = config.mean && config.std ? (value - config.mean[c]) / config.std[c] : value;
      }
    }
  }
  return { pixelValues: out, width: crop.width, height: crop.height };
}

import type { WithheldImage } from '../../../../contract/safety';
import { seedForImage } from '../noise/noise-sources';
import type { DecodedImage, GenerateResult } from '../pipeline';

/** The batch's images in order, returned and withheld alike: image i has seed `seed + i`. */
export function inBatchOrder(result: Pick<GenerateResult, 'images' | 'withheld' | 'parameters'>): Array<DecodedImage | WithheldImage> {
  const bySeed = new Map<number, DecodedImage | WithheldImage>();
  for (const image of [...result.images, ...result.withheld]) bySeed.set(image.seed, image);
  const { seed, numImages } = result.parameters;
  const ordered: Array<DecodedImage | WithheldImage> = [];
  for (let i = 0; i < numImages; i++) {
    const image = bySeed.get(seedForImage(seed, i));
    if (image === undefined) throw new Error(`image ${i} of the batch (seed ${seedForImage(seed, i)}) is neither returned nor withheld`);
    ordered.push(image);
  }
  return ordered;
}

import type { NoiseSource } from '../schedulers/scheduler';
import { TorchCompatibleRandn } from './torch-compatible-randn';

/** The seed of image `index` in a batch: consecutive, so each image can be redone alone. */
export function seedForImage(seed: number, index: number): number {
  return (seed + index) % 2 ** 32;
}

/**
 * One generator per image of the batch, as diffusers does with a list of generators: image i's
 * noise depends only on its own seed, never on how many images were asked for.
 */
export class PerImageNoise implements NoiseSource {
  private readonly generators: TorchCompatibleRandn[];

  constructor(seeds: readonly number[]) {
    this.generators = seeds.map((seed) => new TorchCompatibleRandn(seed));
  }

  randn(shape: readonly number[]): Float32Array {
    const [batch, ...rest] = shape;
    if (batch !== this.generators.length) {
      throw new Error(`noise for a batch of ${batch} was requested from ${this.generators.length} seeds`);
    }
    // One image (the usual case): its generator's array as it is, not copied into another.
    if (batch === 1) return this.generators[0].randn(shape);
    const perImage = rest.reduce((a, b) => a * b, 1);
    const out = new Float32Array(batch * perImage);
    this.generators.forEach((generator, i) => out.set(generator.randn([1, ...rest]), i * perImage));
    return out;
  }
}

/** Plays back caller-supplied noise in order (for parity with a reference run, or user control). */
export class ReplayNoise implements NoiseSource {
  private offset = 0;

  constructor(
    private readonly values: Float32Array,
    private readonly description: string,
  ) {}

  randn(shape: readonly number[]): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    if (this.offset + size > this.values.length) {
      throw new Error(
        `${this.description} ran out: a draw of [${shape.join(',')}] needs ${size} values at offset ${this.offset} but it has ${this.values.length}`,
      );
    }
    const out = this.values.slice(this.offset, this.offset + size);
    this.offset += size;
    return out;
  }
}

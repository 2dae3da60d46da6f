/**
 * Seeded standard-normal noise that reproduces PyTorch's CPU generator: `torch.manual_seed(seed)`
 * followed by `torch.randn(shape)` in float32. With it, a seed means the same starting noise here as
 * in diffusers on CPU, so images can be compared across the two and users' seeds carry over.
 *
 * Mersenne Twister as in `aten/src/ATen/core/MT19937RNGEngine.h`; uniform floats and the Box-Muller
 * pairing of `normal_fill` in `aten/src/ATen/native/cpu/DistributionTemplates.h`.
 */
import type { NoiseSource } from '../schedulers/scheduler';

const STATE_SIZE = 624;
const MIDDLE = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const TWO_POW_MINUS_24 = 2 ** -24;
const f32 = Math.fround;

export class Mt19937 {
  // Int32 view of the words: V8 keeps int32 arithmetic unboxed, where uint32 reads above 2^31 become doubles.
  private readonly state = new Int32Array(STATE_SIZE);
  private index = STATE_SIZE;

  constructor(seed: number) {
    this.state[0] = seed >>> 0;
    for (let i = 1; i < STATE_SIZE; i++) {
      const previous = (this.state[i - 1] ^ (this.state[i - 1] >>> 30)) >>> 0;
      this.state[i] = Math.imul(1812433253, previous) + i;
    }
  }

  nextUint32(): number {
    if (this.index >= STATE_SIZE) this.twist();
    return temper(this.state[this.index++]) >>> 0;
  }

  /**
   * `count` uniform floats in [0, 1) on 24 bits, as torch's `uniform_real_distribution<float>`
   * takes them, written from `data[start]` on. The same draws as `count` calls of `nextUint32`,
   * without a call and a bounds check per value (a 512² image's step noise is 16,384 of them).
   */
  fillUniform24(data: Float32Array, start: number, count: number): void {
    const s = this.state;
    let index = this.index;
    const end = start + count;
    for (let i = start; i < end; i++) {
      if (index >= STATE_SIZE) {
        this.twist();
        index = 0;
      }
      data[i] = (temper(s[index++]) & 0xffffff) * TWO_POW_MINUS_24;
    }
    this.index = index;
  }

  private twist(): void {
    const s = this.state;
    // The reference's `(i + 1) % N` and `(i + M) % N`, split into the ranges where they do not wrap.
    let i = 0;
    for (; i < STATE_SIZE - MIDDLE; i++) s[i] = s[i + MIDDLE] ^ mix(s[i], s[i + 1]);
    for (; i < STATE_SIZE - 1; i++) s[i] = s[i + MIDDLE - STATE_SIZE] ^ mix(s[i], s[i + 1]);
    s[STATE_SIZE - 1] = s[MIDDLE - 1] ^ mix(s[STATE_SIZE - 1], s[0]);
    this.index = 0;
  }
}

/** MT19937's `(y >>> 1) ^ (odd ? MATRIX_A : 0)` for y = upper bit of `upper` with the lower 31 of `lower`. */
function mix(upper: number, lower: number): number {
  const y = (upper & UPPER_MASK) | (lower & LOWER_MASK);
  return (y >>> 1) ^ (-(y & 1) & MATRIX_A);
}

/** MT19937's output tempering, on int32 bits. */
function temper(word: number): number {
  let y = word;
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  y ^= y >>> 18;
  return y;
}

export class TorchCompatibleRandn implements NoiseSource {
  private readonly engine: Mt19937;
  /** torch caches the sine half of each double Box-Muller pair for the next scalar draw. */
  private cachedNormal: number | undefined;

  constructor(seed: number) {
    this.engine = new Mt19937(seed);
  }

  randn(shape: readonly number[]): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (size < 16) {
      // torch draws small tensors one Box-Muller value at a time (`normal_distribution<double>`).
      for (let i = 0; i < size; i++) data[i] = this.normalDouble();
      return data;
    }
    this.engine.fillUniform24(data, 0, size);
    for (let i = 0; i + 16 <= size; i += 16) boxMuller16(data, i);
    if (size % 16 !== 0) {
      // torch redraws the last 16 values rather than pairing a ragged tail.
      const start = size - 16;
      this.engine.fillUniform24(data, start, 16);
      boxMuller16(data, start);
    }
    return data;
  }

  private normalDouble(): number {
    // at::normal_distribution<double>: 53-bit uniforms from two 32-bit draws; cosine now, sine next time.
    if (this.cachedNormal !== undefined) {
      const cached = this.cachedNormal;
      this.cachedNormal = undefined;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const radius = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = radius * Math.sin(theta);
    return radius * Math.cos(theta);
  }

  private uniformDouble(): number {
    const high = this.engine.nextUint32();
    const low = this.engine.nextUint32();
    const bits53 = (BigInt(high) << 32n) | BigInt(low);
    return Number(bits53 & ((1n << 53n) - 1n)) * 2 ** -53;
  }
}

function boxMuller16(data: Float32Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[offset + j]);
    const u2 = data[offset + j + 8];
    const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))));
    const theta = f32(2 * Math.PI * u2);
    data[offset + j] = f32(radius * f32(Math.cos(theta)));
    data[offset + j + 8] = f32(radius * f32(Math.sin(theta)));
  }
}

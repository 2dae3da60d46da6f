/**
 * IEEE 754 half-precision conversion for fp16 model inputs and outputs. Node 20 has no
 * Float16Array, and onnxruntime-node takes fp16 tensors as Uint16Array bit patterns.
 */
const floatView = new Float32Array(1);
const int32View = new Int32Array(floatView.buffer);

/** Rounds to nearest even, like numpy's `astype(np.float16)`. */
export function toHalfBits(value: number): number {
  floatView[0] = value;
  const x = int32View[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf or NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // underflow to signed zero
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const halfMantissa = mantissa >> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1);
    return sign | (halfMantissa + (roundUp ? 1 : 0));
  }
  const halfMantissa = mantissa >> 13;
  const remainder = mantissa & 0x1fff;
  const roundUp = remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1) === 1);
  // A carry out of the mantissa correctly bumps the exponent (and may reach infinity).
  return (sign | (halfExponent << 10) | halfMantissa) + (roundUp ? 1 : 0);
}

export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function float32ToFloat16(source: Float32Array): Uint16Array {
  const out = new Uint16Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = toHalfBits(source[i]);
  return out;
}

export function float16ToFloat32(source: Uint16Array): Float32Array {
  const out = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = fromHalfBits(source[i]);
  return out;
}

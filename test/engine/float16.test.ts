import { float16ToFloat32, float32ToFloat16, fromHalfBits, toHalfBits } from '../../container/src/engine/onnx/float16';

describe('float16 conversion', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [6.103515625e-5, 0x0400], // smallest normal
    [5.960464477539063e-8, 0x0001], // smallest subnormal
    [Infinity, 0x7c00],
    [1e6, 0x7c00], // overflow
    [1e-9, 0x0000], // underflow
  ])('%p ⇄ %p', (value, bits) => {
    expect(toHalfBits(value)).toBe(bits);
    const representable = value === 1e6 ? Infinity : value === 1e-9 ? 0 : value;
    expect(fromHalfBits(bits)).toBe(representable);
  });

  it('rounds to nearest even', () => {
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it('keeps NaN', () => {
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
  });

  it('round-trips arrays within half precision', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10);
    const back = float16ToFloat32(float32ToFloat16(values));
    values.forEach((v, i) => expect(Math.abs(back[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 1e-7));
  });
});

import { cropLatents, latentPaddingFor, padLatents } from '../../container/src/engine/latent-padding';

describe('latent padding', () => {
  it('is not needed where the size is already a multiple', () => {
    expect(latentPaddingFor(64, 96, 8)).toBeUndefined();
    expect(latentPaddingFor(9, 8, 2)).toEqual({ height: 9, width: 8, paddedHeight: 10, paddedWidth: 8 });
  });

  it('repeats edge values and crops back to the original planes', () => {
    // Two planes of 2x3, padded to 4x4.
    const source = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
    const padding = latentPaddingFor(2, 3, 4)!;
    const padded = new Float32Array(2 * 16);
    padLatents(source, padded, padding);
    expect(Array.from(padded.subarray(0, 16))).toEqual([1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6, 4, 5, 6, 6]);
    expect(Array.from(padded.subarray(16, 20))).toEqual([10, 20, 30, 30]);
    const cropped = new Float32Array(source.length);
    cropLatents(padded, cropped, padding);
    expect(cropped).toEqual(source);
  });
});

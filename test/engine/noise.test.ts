import { PerImageNoise, ReplayNoise, seedForImage } from '../../container/src/engine/noise/noise-sources';
import { TorchCompatibleRandn } from '../../container/src/engine/noise/torch-compatible-randn';

// Published outputs of `torch.manual_seed(s); torch.randn(n)` (PyTorch docs and countless tutorials).
const round4 = (values: Float32Array) => Array.from(values, (v) => Number(v.toFixed(4)));

describe('TorchCompatibleRandn', () => {
  it('reproduces torch.randn for small tensors (double Box-Muller path)', () => {
    expect(round4(new TorchCompatibleRandn(1).randn([3]))).toEqual([0.6614, 0.2669, 0.0617]);
    expect(round4(new TorchCompatibleRandn(42).randn([3]))).toEqual([0.3367, 0.1288, 0.2345]);
  });

  it('reproduces torch.randn for tensors of 16 or more (vectorised float path)', () => {
    expect(round4(new TorchCompatibleRandn(0).randn([2, 8])).slice(0, 8)).toEqual([
      -1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.692, -0.316, -2.1152,
    ]);
    expect(round4(new TorchCompatibleRandn(1).randn([16])).slice(0, 4)).toEqual([-1.5256, -0.7502, -0.654, -1.6095]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new TorchCompatibleRandn(7).randn([1, 4, 8, 8]);
    expect(new TorchCompatibleRandn(7).randn([1, 4, 8, 8])).toEqual(a);
    expect(new TorchCompatibleRandn(8).randn([1, 4, 8, 8])).not.toEqual(a);
  });

  it('has unit variance', () => {
    const values = new TorchCompatibleRandn(123).randn([1, 4, 64, 64]);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });
});

describe('PerImageNoise', () => {
  it('gives image i the noise of its own seed, independent of batch size', () => {
    const batch = new PerImageNoise([seedForImage(10, 0), seedForImage(10, 1)]).randn([2, 4, 8, 8]);
    const second = new PerImageNoise([11]).randn([1, 4, 8, 8]);
    expect(batch.subarray(256)).toEqual(second);
  });

  it('wraps seeds past 2^32', () => {
    expect(seedForImage(2 ** 32 - 1, 1)).toBe(0);
  });

  it('refuses a batch that does not match its seeds', () => {
    expect(() => new PerImageNoise([1]).randn([2, 4, 8, 8])).toThrow(/batch of 2.*1 seeds/);
  });
});

describe('ReplayNoise', () => {
  it('plays values back in order and says when it runs out', () => {
    const replay = new ReplayNoise(Float32Array.from([1, 2, 3, 4]), 'step noise');
    expect(Array.from(replay.randn([2]))).toEqual([1, 2]);
    expect(Array.from(replay.randn([2]))).toEqual([3, 4]);
    expect(() => replay.randn([1])).toThrow(/step noise ran out/);
  });
});

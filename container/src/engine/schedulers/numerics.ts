/**
 * The exact floating-point arithmetic of the numpy and torch calls diffusers builds its schedules
 * with. Timesteps and sigmas must come out bit-identical to diffusers', so each helper states which
 * operations round to float32 and in what order.
 */

/** Rounds to float32, as storing into a torch/numpy float32 tensor does. */
export const f32 = Math.fround;

/** `numpy.round` / Python `round`: halves go to the even neighbour (0.5 → 0, 2.5 → 2). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `numpy.linspace(start, stop, num)` in float64: `i * step + start`, the last point set to `stop`. */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/**
 * `numpy.arange(start, stop, step)` in float64. numpy stores `start` and `start + step`, then fills
 * the rest as `start + i * delta` with `delta` re-derived from those two stored values.
 */
export function numpyArange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  if (length > 0) out[0] = start;
  if (length > 1) out[1] = start + step;
  const delta = out.length > 1 ? out[1] - start : step;
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

/**
 * `numpy.interp(x, arange(fp.length), fp)`: float64 linear interpolation on the integer grid, with
 * numpy's own formula `slope * (x - xp[j]) + fp[j]` and exact hits returning `fp[j]` unchanged.
 */
export function interpOnIntegerGrid(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (!(x > 0)) return fp[0];
  if (x >= last) return fp[last];
  const j = Math.floor(x);
  if (x === j) return fp[j];
  const slope = fp[j + 1] - fp[j];
  return slope * (x - j) + fp[j];
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on the CPU. The kernel computes a
 * float32 step, fills the first half from `start` and the second half back from `end`, and its
 * `start + step * idx` is compiled to a fused multiply-add (one rounding), which the float64
 * product here reproduces exactly (a float32 step times an index below 2^24 is exact in float64).
 */
export function torchLinspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? s + step * i : e - step * (steps - i - 1);
  return out;
}

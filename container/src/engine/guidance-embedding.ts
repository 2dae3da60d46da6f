/**
 * The guidance-scale embedding an LCM-distilled UNet takes as `timestep_cond` (Meng et al. 2023,
 * "On Distillation of Guided Diffusion Models"; diffusers' `get_guidance_scale_embedding`): the
 * sinusoidal embedding of `w · 1000`, sines then cosines, in float32 as torch computes it.
 *
 * diffusers' LCM pipelines pass `w = guidance_scale − 1`, because they use the Imagen form of
 * classifier-free guidance (`uncond + g · (cond − uncond)`) where the LCM paper writes `1 + w`.
 */
const f32 = Math.fround;

/** `[batch, dim]`: the same row for every image. */
export function guidanceScaleEmbedding(guidanceScale: number, dim: number, batch: number): Float32Array {
  const w = f32(f32(guidanceScale - 1) * 1000);
  const half = Math.floor(dim / 2);
  const row = new Float32Array(dim); // an odd size keeps a zero pad at the end, as diffusers'
  const exponent = f32(f32(Math.log(10000)) / (half - 1));
  for (let k = 0; k < half; k++) {
    const angle = f32(w * f32(Math.exp(f32(k * -exponent))));
    row[k] = Math.sin(angle);
    row[half + k] = Math.cos(angle);
  }
  const out = new Float32Array(batch * dim);
  for (let i = 0; i < batch; i++) out.set(row, i * dim);
  return out;
}

/**
 * A VAE decoder and the scaling that goes with it: the full VAE takes latents divided by 0.18215
 * (its `config.json`), TAESD by its own `scaling_factor` (1.0). Both outputs go through diffusers'
 * `(image / 2 + 0.5).clamp(0, 1)`.
 */
import type { DecoderName } from '../../../../contract/decoder';
export { resolveDecoder } from '../../../../contract/decoder';
import type { ModelSession } from '../onnx/model-session';
import { describeVaeDecoder, type UnetInterface, type VaeDecoderInterface } from '../model/sd-interface';

export class LatentDecoder {
  constructor(
    readonly name: DecoderName,
    readonly session: ModelSession,
    private readonly io: VaeDecoderInterface,
    /** Latents are divided by this before the decoder. */
    readonly scalingFactor: number,
  ) {}

  /** One image's latents [channels, h, w] → HWC RGB in [0, 1], with the decoder's own size. */
  async decode(latents: Float32Array, latentShape: readonly number[]): Promise<{ pixels: Float32Array; width: number; height: number }> {
    const scaled = new Float32Array(latents.length);
    const factor = this.scalingFactor;
    for (let i = 0; i < latents.length; i++) scaled[i] = latents[i] / factor;
    const { latentSample, image } = this.io;
    const output = await this.session.run({ [latentSample.name]: { data: scaled, dims: [1, ...latentShape.slice(-3)] } }, [image.name]);
    const { data, dims } = output[image.name];
    return { pixels: chwToHwcUnit(data, dims[1], dims[2], dims[3]), width: dims[3], height: dims[2] };
  }
}

/**
 * A TAESD decoder must take `latent_sample` [batch, latent channels, h, w] and give `sample`
 * [batch, 3, 8h, 8w]; anything else is refused at load, the session's label naming the file.
 */
export function describeTinyVaeDecoder(session: ModelSession, unet: UnetInterface): VaeDecoderInterface {
  if (session.inputs.length !== 1 || session.output('sample') === undefined) {
    const names = (specs: readonly { name: string }[]) => specs.map((spec) => spec.name).join(', ') || 'none';
    throw new Error(
      `${session.label}: is not a tiny VAE decoder: it takes ${names(session.inputs)} and gives ${names(session.outputs)}; ` +
        'expected input "latent_sample" and output "sample" (an AutoencoderTiny decoder export)',
    );
  }
  const io = describeVaeDecoder(session, unet);
  const channels = io.image.shape[1];
  if (typeof channels === 'number' && channels !== 3) throw new Error(`${session.label}: output "sample" has ${channels} channels; expected 3 (RGB)`);
  return io;
}

/** [-1, 1] CHW → [0, 1] HWC, as diffusers' `(image / 2 + 0.5).clamp(0, 1)` then permute. */
export function chwToHwcUnit(chw: Float32Array, channels: number, height: number, width: number): Float32Array {
  const plane = height * width;
  const hwc = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) {
      const value = chw[c * plane + p] / 2 + 0.5;
      hwc[p * channels + c] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
  return hwc;
}

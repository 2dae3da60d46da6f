/**
 * Live previews of a running generation: the current latents of the first image, box-averaged to
 * at most 16×16 cells so the tiny VAE paints at most 128 px (a few ms even for a 512² image), encoded
 * as a small WebP data URL. One at a time, at most one per PREVIEW_LIMITS.minIntervalMs, and
 * never holding up a step: the decode runs beside the next UNet call.
 */
import sharp from 'sharp';
import { PREVIEW_LIMITS } from '../../../../contract/preview';
import { toUint8 } from '../image-encoding';
import type { StableDiffusionPipeline, StepProgress } from '../pipeline';

const LATENT_CELLS = PREVIEW_LIMITS.maxSide / 8;
/** WebP qualities tried in turn until the data URL fits; a preview only has to be recognisable. */
const QUALITIES = [60, 40, 20];

export interface StepPreview {
  /** The step whose latents it shows. */
  readonly step: number;
  readonly totalSteps: number;
  readonly dataUrl: string;
}

export class StepPreviews {
  private inFlight: Promise<void> | undefined;
  private lastStartedAt = -Infinity;

  constructor(
    private readonly pipeline: Pick<StableDiffusionPipeline, 'decodePreview'>,
    private readonly onPreview: (preview: StepPreview) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Called from `onStep`: starts a preview of this step unless one is running or the last began too recently. */
  offer(progress: StepProgress): void {
    if (this.inFlight !== undefined || this.now() - this.lastStartedAt < PREVIEW_LIMITS.minIntervalMs) return;
    const { latentShape } = progress;
    if (latentShape === undefined) return;
    this.lastStartedAt = this.now();
    const [, channels, height, width] = latentShape;
    // Copied now: the pipeline reuses its buffers on the next step.
    const pooled = poolLatents(progress.denoised ?? progress.latents, channels, height, width);
    this.inFlight = this.render(pooled, progress)
      .catch(() => undefined) // a preview that fails is only a missing preview; the job goes on
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** Waits for the preview being made, so a finished job leaves nothing running. */
  async settle(): Promise<void> {
    await this.inFlight;
  }

  private async render(pooled: PooledLatents, progress: StepProgress): Promise<void> {
    const decoded = await this.pipeline.decodePreview(pooled.data, [1, pooled.channels, pooled.height, pooled.width]);
    if (decoded === undefined) return;
    const dataUrl = await encodePreview(decoded.pixels, decoded.width, decoded.height);
    if (dataUrl !== undefined) this.onPreview({ step: progress.step, totalSteps: progress.totalSteps, dataUrl });
  }
}

interface PooledLatents {
  readonly data: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** The first image's latents averaged over f×f boxes, f chosen so the long side is at most 16 cells. */
export function poolLatents(latents: Float32Array, channels: number, height: number, width: number): PooledLatents {
  const factor = Math.max(1, Math.ceil(Math.max(height, width) / LATENT_CELLS));
  const outHeight = Math.ceil(height / factor);
  const outWidth = Math.ceil(width / factor);
  const data = new Float32Array(channels * outHeight * outWidth);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        let sum = 0;
        let count = 0;
        for (let dy = 0; dy < factor && y * factor + dy < height; dy++) {
          for (let dx = 0; dx < factor && x * factor + dx < width; dx++) {
            sum += latents[(c * height + y * factor + dy) * width + x * factor + dx];
            count++;
          }
        }
        data[(c * outHeight + y) * outWidth + x] = sum / count;
      }
    }
  }
  return { data, channels, height: outHeight, width: outWidth };
}

/** HWC RGB in [0, 1] → a WebP data URL within PREVIEW_LIMITS, or undefined when none fits. */
export async function encodePreview(pixels: Float32Array, width: number, height: number): Promise<string | undefined> {
  const raw = Buffer.from(toUint8(pixels).buffer);
  for (const quality of QUALITIES) {
    const bytes = await sharp(raw, { raw: { width, height, channels: 3 } })
      .resize({ width: PREVIEW_LIMITS.maxSide, height: PREVIEW_LIMITS.maxSide, fit: 'inside', withoutEnlargement: true })
      .webp({ quality })
      .toBuffer();
    const dataUrl = `data:image/webp;base64,${bytes.toString('base64')}`;
    if (dataUrl.length <= PREVIEW_LIMITS.maxDataUrlLength) return dataUrl;
  }
  return undefined;
}

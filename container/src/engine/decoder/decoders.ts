/**
 * The pipeline's decoders: the one that makes the final images (`backend.decoder`: full, tiny or
 * auto) and the tiny one for step previews, wherever a tiny VAE is present.
 */
import type { DecoderChoice } from '../../../../contract/decoder';
import type { UnetInterface } from '../model/sd-interface';
import { ModelSession, type SessionOptions } from '../onnx/model-session';
import { describeVaeDecoder } from '../model/sd-interface';
import { resolveDecoder } from '../../../../contract/decoder';
import { describeTinyVaeDecoder, LatentDecoder } from './latent-decoder';
import { locateTinyVae, tinyVaeCandidates } from './tiny-vae-folder';

export interface Decoders {
  readonly final: LatentDecoder;
  readonly full: LatentDecoder;
  /** The tiny decoder; undefined when the model has none. */
  readonly preview: LatentDecoder | undefined;
}

interface DecoderSession {
  readonly session: ModelSession;
  readonly scalingFactor: number;
}

/** The tiny VAE's session (labelled with its file, so errors name it), or undefined when none is given or found. */
export async function loadTinyVaeSession(modelDir: string, explicitDir: string | undefined, options: SessionOptions): Promise<DecoderSession | undefined> {
  const folder = await locateTinyVae(modelDir, explicitDir);
  if (folder === undefined) return undefined;
  return { session: await ModelSession.create(folder.decoderFile, folder.decoderFile, options), scalingFactor: folder.scalingFactor };
}

/** Checks both decoders' interfaces and picks the final one; `tiny` without a tiny VAE is refused, naming where it was looked for. */
export function loadDecoders(choice: DecoderChoice, provider: 'cuda' | 'cpu', full: DecoderSession, tiny: DecoderSession | undefined, unet: UnetInterface, modelDir: string): Decoders {
  const fullDecoder = new LatentDecoder('full', full.session, describeVaeDecoder(full.session, unet), full.scalingFactor);
  const tinyDecoder = tiny && new LatentDecoder('tiny', tiny.session, describeTinyVaeDecoder(tiny.session, unet), tiny.scalingFactor);
  if (choice === 'tiny' && tinyDecoder === undefined) {
    throw new Error(`decoder "tiny" needs a tiny VAE (TAESD) but there is none at ${tinyVaeCandidates(modelDir).join(' or ')}; fetch one with npm run model -- fetch REPO --tiny-vae REPO2`);
  }
  const final = resolveDecoder(choice, provider, tinyDecoder !== undefined) === 'tiny' && tinyDecoder ? tinyDecoder : fullDecoder;
  return { final, full: fullDecoder, preview: tinyDecoder };
}

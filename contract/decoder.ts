/**
 * Which VAE decoder turns latents into the picture. `tiny` is TAESD (diffusers' `AutoencoderTiny`):
 * about 20× faster than the full VAE on a CPU, at the cost of fine detail. `auto` takes the tiny
 * decoder on a CPU when the model has one, and the full decoder on a GPU.
 */
export const DECODER_CHOICES = ['full', 'tiny', 'auto'] as const;
export type DecoderChoice = (typeof DECODER_CHOICES)[number];
/** The decoder that actually runs, as `/v1/status` reports it. */
export type DecoderName = Exclude<DecoderChoice, 'auto'>;

export function isDecoderChoice(value: unknown): value is DecoderChoice {
  return typeof value === 'string' && (DECODER_CHOICES as readonly string[]).includes(value);
}

/** `auto`: the tiny decoder on a CPU when there is one (its decode is a small fraction of the full one's), the full VAE on a GPU. */
export function resolveDecoder(choice: DecoderChoice, provider: 'cuda' | 'cpu', hasTiny: boolean): DecoderName {
  if (choice === 'auto') return hasTiny && provider === 'cpu' ? 'tiny' : 'full';
  return choice;
}

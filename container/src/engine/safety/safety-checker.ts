/**
 * The model's own safety checker, run as diffusers' `OnnxStableDiffusionPipeline` runs it: after the
 * decode, one image at a time, `clip_input` from the feature extractor and `images` in [0, 1] HWC,
 * the decision read from `has_nsfw_concepts`. A flagged image is withheld, never blacked out.
 */
import { FEATURE_EXTRACTOR_CONFIG, SAFETY_CHECKER_MODEL, type WithheldImage } from '../../../../contract/safety';
import { toUint8 } from '../image-encoding';
import { isSupportedType, ModelSession, type SessionOptions, type TensorSpec } from '../onnx/model-session';
import type { DecodedImage } from '../pipeline';
import { preprocessForClip, readClipImageProcessorConfig, type ClipImageProcessorConfig } from './clip-image-processor';

export type { WithheldImage };

export interface SafetyCheckOutcome {
  readonly passed: DecodedImage[];
  readonly withheld: WithheldImage[];
  readonly ms: number;
}

export class SafetyChecker {
  /** Loads the checker and its feature extractor's settings; refuses, naming the file, an interface it cannot feed. */
  static async load(files: { readonly model: string; readonly preprocessorConfig: string }, options: SessionOptions): Promise<SafetyChecker> {
    const config = await readClipImageProcessorConfig(files.preprocessorConfig, FEATURE_EXTRACTOR_CONFIG);
    const session = await ModelSession.create(files.model, SAFETY_CHECKER_MODEL, options);
    try {
      return new SafetyChecker(session, config, describeSafetyChecker(session, config, files.model));
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  private constructor(
    private readonly session: ModelSession,
    private readonly config: ClipImageProcessorConfig,
    private readonly io: SafetyCheckerInterface,
  ) {}

  /** True where the checker flags the image. */
  async isFlagged(image: DecodedImage): Promise<boolean> {
    // diffusers hands the feature extractor `numpy_to_pil(image)`: the 8-bit picture.
    const clip = preprocessForClip(toUint8(image.pixels), image.width, image.height, this.config);
    const output = await this.session.run(
      {
        [this.io.clipInput.name]: { data: clip.pixelValues, dims: [1, 3, clip.height, clip.width] },
        [this.io.images.name]: { data: image.pixels, dims: [1, image.height, image.width, 3] },
      },
      [this.io.hasNsfwConcepts.name],
    );
    return output[this.io.hasNsfwConcepts.name].data[0] !== 0;
  }

  /** Checks every image in turn; the passed ones keep their order. */
  async filter(images: readonly DecodedImage[]): Promise<SafetyCheckOutcome> {
    const started = performance.now();
    const passed: DecodedImage[] = [];
    const withheld: WithheldImage[] = [];
    for (const image of images) {
      if (await this.isFlagged(image)) withheld.push({ seed: image.seed, withheld: 'safety' });
      else passed.push(image);
    }
    return { passed, withheld, ms: performance.now() - started };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

interface SafetyCheckerInterface {
  readonly clipInput: TensorSpec;
  readonly images: TensorSpec;
  readonly hasNsfwConcepts: TensorSpec;
}

/** diffusers' `StableDiffusionSafetyChecker.forward_onnx` export: clip_input [b,3,S,S], images [b,H,W,3] → has_nsfw_concepts bool [b]. */
function describeSafetyChecker(session: ModelSession, config: ClipImageProcessorConfig, file: string): SafetyCheckerInterface {
  const refuse = (why: string): never => {
    const inputs = session.inputs.map(describe).join(', ');
    const outputs = session.outputs.map(describe).join(', ');
    throw new Error(
      `${SAFETY_CHECKER_MODEL} (${file}) is not a safety checker this engine can run: ${why}. ` +
        `Expected diffusers' ONNX export: inputs clip_input float[batch,3,224,224] and images float[batch,H,W,3], output has_nsfw_concepts bool[batch]; ` +
        `it has inputs ${inputs || 'none'} and outputs ${outputs || 'none'}.`,
    );
  };
  const clipInput = session.input('clip_input') ?? refuse('it has no input "clip_input"');
  const images = session.input('images') ?? refuse('it has no input "images"');
  const hasNsfwConcepts = session.output('has_nsfw_concepts') ?? refuse('it has no output "has_nsfw_concepts"');
  if (session.inputs.length !== 2) refuse(`it takes ${session.inputs.length} inputs, not 2`);
  for (const spec of [clipInput, images]) {
    if (!isSupportedType(spec.type) || !spec.type.startsWith('float')) refuse(`input "${spec.name}" is ${spec.type}, not a float tensor`);
    if (spec.shape.length !== 4) refuse(`input "${spec.name}" has ${spec.shape.length} dimensions, not 4`);
  }
  const crop = config.cropSize;
  const fixed = (dim: number | string, want: number | undefined) => typeof dim !== 'number' || want === undefined || dim === want;
  if (!fixed(clipInput.shape[1], 3) || !fixed(clipInput.shape[2], crop?.height) || !fixed(clipInput.shape[3], crop?.width)) {
    refuse(`input "clip_input" is [${clipInput.shape.join(',')}] but ${FEATURE_EXTRACTOR_CONFIG} makes [1,3,${crop?.height ?? '?'},${crop?.width ?? '?'}]`);
  }
  if (!fixed(images.shape[3], 3)) refuse(`input "images" is [${images.shape.join(',')}], not channels-last RGB [batch,H,W,3]`);
  if (hasNsfwConcepts.type !== 'bool') refuse(`output "has_nsfw_concepts" is ${hasNsfwConcepts.type}, not bool`);
  return { clipInput, images, hasNsfwConcepts };
}

function describe(spec: TensorSpec): string {
  return `${spec.name} ${spec.type}[${spec.shape.join(',')}]`;
}

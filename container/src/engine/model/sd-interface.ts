/**
 * Checks that loaded sessions have the Stable Diffusion interface and records how this export spells
 * it (names, dtypes, ranks). Real exports differ exactly here: int32 or int64 ids, a float scalar or
 * an int64 [batch] timestep, float16 or float32 tensors.
 */
import { isSupportedType, type ModelSession, type TensorSpec } from '../onnx/model-session';

const FLOAT_TYPES = ['float32', 'float16'];
const INTEGER_TYPES = ['int32', 'int64'];

export interface TextEncoderInterface {
  readonly inputIds: TensorSpec;
  readonly hiddenStates: TensorSpec;
}

export interface UnetInterface {
  readonly sample: TensorSpec;
  readonly timestep: TensorSpec;
  readonly encoderHiddenStates: TensorSpec;
  readonly noisePrediction: TensorSpec;
  /** Channels of the latent, read from the `sample` input (4 for SD 1.x). */
  readonly latentChannels: number;
  /**
   * An LCM-distilled UNet's `timestep_cond` [batch, size]: the guidance-scale embedding, its size
   * read from the input's shape or else from `time_cond_proj_dim`. Undefined for other UNets.
   */
  readonly timestepCond: { readonly spec: TensorSpec; readonly size: number } | undefined;
}

export interface VaeEncoderInterface {
  readonly image: TensorSpec;
  readonly latent: TensorSpec;
  /**
   * `parameters`: mean and log-variance stacked on channels (optimum's `latent_parameters`), which
   * the pipeline samples with its own seeded noise. `sample`: the early diffusers export's
   * `latent_sample`, already sampled inside the graph.
   */
  readonly output: 'parameters' | 'sample';
}

export interface VaeDecoderInterface {
  readonly latentSample: TensorSpec;
  readonly image: TensorSpec;
}

export function describeTextEncoder(session: ModelSession): TextEncoderInterface {
  const inputIds = requireInput(session, 'input_ids', INTEGER_TYPES, 2);
  const hiddenStates = session.output('last_hidden_state') ?? session.outputs[0];
  if (!hiddenStates) throw new Error(`${session.label}: has no outputs`);
  checkTensor(session, hiddenStates, 'output', FLOAT_TYPES, 3);
  return { inputIds, hiddenStates };
}

export function describeUnet(session: ModelSession, textEncoder: TextEncoderInterface, timeCondProjDim?: number): UnetInterface {
  const sample = requireInput(session, 'sample', FLOAT_TYPES, 4);
  const timestep = requireInput(session, 'timestep', [...FLOAT_TYPES, 'float64', ...INTEGER_TYPES]);
  if (timestep.shape.length > 1) {
    throw new Error(`${session.label}: input "timestep" must be a scalar or [batch] but has shape [${timestep.shape.join(',')}]`);
  }
  const encoderHiddenStates = requireInput(session, 'encoder_hidden_states', FLOAT_TYPES, 3);
  const noisePrediction = session.output('out_sample') ?? session.outputs[0];
  if (!noisePrediction) throw new Error(`${session.label}: has no outputs`);
  checkTensor(session, noisePrediction, 'output', FLOAT_TYPES, 4);

  const unetWidth = encoderHiddenStates.shape[2];
  const textWidth = textEncoder.hiddenStates.shape[2];
  if (typeof unetWidth === 'number' && typeof textWidth === 'number' && unetWidth !== textWidth) {
    throw new Error(
      `${session.label}: input "encoder_hidden_states" expects width ${unetWidth} but the text encoder produces ${textWidth}; ` +
        'the parts of this model folder come from different models',
    );
  }
  const channels = sample.shape[1];
  return {
    sample,
    timestep,
    encoderHiddenStates,
    noisePrediction,
    latentChannels: typeof channels === 'number' ? channels : 4,
    timestepCond: describeTimestepCond(session, timeCondProjDim),
  };
}

function describeTimestepCond(session: ModelSession, timeCondProjDim: number | undefined): UnetInterface['timestepCond'] {
  if (!session.input('timestep_cond')) return undefined;
  const spec = requireInput(session, 'timestep_cond', FLOAT_TYPES, 2);
  const declared = spec.shape[1];
  if (typeof declared === 'number' && timeCondProjDim !== undefined && declared !== timeCondProjDim) {
    throw new Error(`${session.label}: input "timestep_cond" has size ${declared} but unet/config.json says time_cond_proj_dim ${timeCondProjDim}`);
  }
  const size = typeof declared === 'number' ? declared : timeCondProjDim;
  if (size === undefined) {
    throw new Error(`${session.label}: input "timestep_cond" has a dynamic size and unet/config.json gives no time_cond_proj_dim`);
  }
  return { spec, size };
}

export function describeVaeEncoder(session: ModelSession, unet: UnetInterface): VaeEncoderInterface {
  const image = requireInput(session, 'sample', FLOAT_TYPES, 4);
  const latent = session.output('latent_parameters') ?? session.output('latent_sample') ?? session.outputs[0];
  if (!latent) throw new Error(`${session.label}: has no outputs`);
  checkTensor(session, latent, 'output', FLOAT_TYPES, 4);
  const channels = latent.shape[1];
  const output = latent.name === 'latent_sample' || channels === unet.latentChannels ? 'sample' : 'parameters';
  if (typeof channels === 'number' && channels !== unet.latentChannels * (output === 'parameters' ? 2 : 1)) {
    throw new Error(`${session.label}: output "${latent.name}" has ${channels} channels but the UNet's latents have ${unet.latentChannels}`);
  }
  return { image, latent, output };
}

export function describeVaeDecoder(session: ModelSession, unet: UnetInterface): VaeDecoderInterface {
  const latentSample = requireInput(session, 'latent_sample', FLOAT_TYPES, 4);
  const channels = latentSample.shape[1];
  if (typeof channels === 'number' && channels !== unet.latentChannels) {
    throw new Error(`${session.label}: input "latent_sample" has ${channels} channels but the UNet produces ${unet.latentChannels}`);
  }
  const image = session.output('sample') ?? session.outputs[0];
  if (!image) throw new Error(`${session.label}: has no outputs`);
  checkTensor(session, image, 'output', FLOAT_TYPES, 4);
  return { latentSample, image };
}

function requireInput(session: ModelSession, name: string, types: readonly string[], rank?: number): TensorSpec {
  const spec = session.input(name);
  if (!spec) {
    const present = session.inputs.map((input) => input.name).join(', ') || 'none';
    throw new Error(`${session.label}: has no input "${name}" (inputs: ${present}); this is not a Stable Diffusion ONNX export`);
  }
  checkTensor(session, spec, 'input', types, rank);
  return spec;
}

function checkTensor(session: ModelSession, spec: TensorSpec, kind: 'input' | 'output', types: readonly string[], rank?: number): void {
  if (!isSupportedType(spec.type) || !types.includes(spec.type)) {
    throw new Error(`${session.label}: ${kind} "${spec.name}" has type ${spec.type}; expected ${types.join(' or ')}`);
  }
  if (rank !== undefined && spec.shape.length !== rank) {
    throw new Error(`${session.label}: ${kind} "${spec.name}" has rank ${spec.shape.length}; expected ${rank}`);
  }
}

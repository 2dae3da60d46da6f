import { resolveDecoder, type DecoderChoice, type DecoderName } from '../../contract/decoder';
import type { ModelInfo } from '../../contract/model-info';
import type { BackendMode, DeploymentConfig, ModelSource } from './deployment-config';

/**
 * The decoder the engine will run, as the engine itself resolves `backend.decoder`
 * (contract/decoder.ts): known for a local folder, and for an S3 model only where it is not `auto`
 * (whether its folder holds a `taesd/` is not known at synth).
 */
export function deployedDecoder(model: ModelSource, choice: DecoderChoice, mode: BackendMode): DecoderName | undefined {
  if (model.kind === 's3' && choice === 'auto') return undefined;
  const hasTiny = model.kind === 'local' ? model.hasTinyVae === true : choice === 'tiny';
  return resolveDecoder(choice, mode === 'async' ? 'cuda' : 'cpu', hasTiny);
}

/** The model info with the decoder the engine will run, where that is known. */
export function withDeployedDecoder(config: DeploymentConfig): ModelInfo | undefined {
  const { info } = config.model;
  if (info === undefined) return undefined;
  const decoder = deployedDecoder(config.model, config.backend.decoder, config.backend.mode);
  return decoder === undefined ? info : { ...info, decoder };
}

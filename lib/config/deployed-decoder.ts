import { resolveDecoder } from '../../contract/decoder';
import type { ModelInfo } from '../../contract/model-info';
import type { DeploymentConfig } from './deployment-config';

/**
 * The model info with the decoder the engine will run, as the engine itself resolves `backend.decoder`
 * (contract/decoder.ts): known for a local folder, and for an S3 model only where it is not `auto`.
 */
export function withDeployedDecoder(config: DeploymentConfig): ModelInfo | undefined {
  const { info } = config.model;
  if (info === undefined) return undefined;
  const { decoder } = config.backend;
  if (config.model.kind === 's3' && decoder === 'auto') return info;
  const hasTiny = config.model.kind === 'local' ? config.model.hasTinyVae === true : decoder === 'tiny';
  return { ...info, decoder: resolveDecoder(decoder, config.backend.mode === 'async' ? 'cuda' : 'cpu', hasTiny) };
}

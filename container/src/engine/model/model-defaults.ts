/**
 * What a model wants when a request leaves a setting out, and what it can take. The engine applies
 * these defaults; the server and the gateway report them so the page can follow the model.
 *
 * The resolution itself (`generation_defaults.json`, else LCM's few-step settings, else the
 * scheduler config and the API defaults) lives in the contract, because the deploy reads the same
 * defaults from a model folder at synth; what is the engine's own is its error type.
 */
import { checkRequestAgainstModel, type ModelCapabilities } from '../../../../contract/generation-request';
import { InvalidGenerationInputError } from '../errors';

export type { ModelCapabilities } from '../../../../contract/generation-request';
export {
  GENERATION_DEFAULTS_FILE,
  LCM_DEFAULTS,
  modelCapabilities,
  parseGenerationDefaults,
  resolveModelDefaults,
  type GenerationDefaultsFile,
  type ModelDefaults,
  type ModelTraits,
} from '../../../../contract/model-defaults';

/** The contract's model-dependent refusals, as the engine's error type. */
export function assertRequestFitsModel(request: { negativePrompt?: string; initImage?: unknown }, capabilities: ModelCapabilities): void {
  const problem = checkRequestAgainstModel(
    { negative_prompt: request.negativePrompt, init_image: request.initImage === undefined ? undefined : 'given' },
    capabilities,
  );
  if (problem) throw new InvalidGenerationInputError(problem.field, problem.message);
}

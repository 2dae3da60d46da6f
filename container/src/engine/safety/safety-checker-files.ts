import { join } from 'node:path';
import { FEATURE_EXTRACTOR_CONFIG, SAFETY_CHECKER_MODEL } from '../../../../contract/safety';

export interface SafetyCheckerFiles {
  /** `safety_checker/model.onnx`, where present. */
  readonly model: string | undefined;
  /** `feature_extractor/preprocessor_config.json`, where present. */
  readonly preprocessorConfig: string | undefined;
  /** `model_index.json`'s `requires_safety_checker` (diffusers' default, true, where it names a checker but leaves the flag out). */
  readonly required: boolean;
}

export async function findSafetyCheckerFiles(
  dir: string,
  modelIndex: Record<string, unknown> | undefined,
  exists: (path: string) => Promise<boolean>,
): Promise<SafetyCheckerFiles> {
  const model = join(dir, SAFETY_CHECKER_MODEL);
  const preprocessorConfig = join(dir, FEATURE_EXTRACTOR_CONFIG);
  const flag = modelIndex?.requires_safety_checker;
  const namesChecker = Array.isArray(modelIndex?.safety_checker) && modelIndex.safety_checker[0] !== null;
  return {
    model: (await exists(model)) ? model : undefined,
    preprocessorConfig: (await exists(preprocessorConfig)) ? preprocessorConfig : undefined,
    required: typeof flag === 'boolean' ? flag : namesChecker,
  };
}

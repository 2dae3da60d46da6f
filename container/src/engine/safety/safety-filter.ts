/**
 * Whether generated images go through the model's safety checker: the deployment's setting
 * (`safety.checker`) against what the model folder ships. Either way the caller learns whether
 * there is a filter, and why not, so the server can warn and `/v1/status` can say so.
 */
import { FEATURE_EXTRACTOR_CONFIG, SAFETY_CHECKER_MODEL, type SafetyCheckerSetting } from '../../../../contract/safety';
import type { SessionOptions } from '../onnx/model-session';
import { SafetyChecker } from './safety-checker';
import type { SafetyCheckerFiles } from './safety-checker-files';

export interface SafetyFilterState {
  /** True when every image goes through the model's checker. */
  readonly active: boolean;
  /** Set when the model requires a checker it does not get (turned off, or not in the folder). */
  readonly warning: string | undefined;
}

export interface LoadedSafetyFilter {
  readonly checker: SafetyChecker | undefined;
  readonly state: SafetyFilterState;
}

export async function loadSafetyFilter(files: SafetyCheckerFiles, setting: SafetyCheckerSetting, options: SessionOptions): Promise<LoadedSafetyFilter> {
  const present = files.model !== undefined;
  if (setting === 'off') {
    const warning =
      present || files.required
        ? 'the safety checker is turned off (safety.checker: off): images are returned without any content filter'
        : undefined;
    return { checker: undefined, state: { active: false, warning } };
  }
  if (files.model === undefined) {
    const warning = files.required
      ? `model_index.json requires a safety checker but the folder has no ${SAFETY_CHECKER_MODEL}: images are returned without any content filter ` +
        '(fetch it with `npm run model -- fetch`, or set safety.checker: off to say this is intended)'
      : undefined;
    return { checker: undefined, state: { active: false, warning } };
  }
  if (files.preprocessorConfig === undefined) {
    throw new Error(
      `the model folder has ${SAFETY_CHECKER_MODEL} but no ${FEATURE_EXTRACTOR_CONFIG}, which says how to prepare its input; ` +
        'add it (it ships beside the checker) or set safety.checker: off',
    );
  }
  const checker = await SafetyChecker.load({ model: files.model, preprocessorConfig: files.preprocessorConfig }, options);
  return { checker, state: { active: true, warning: undefined } };
}

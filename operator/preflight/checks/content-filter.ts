/**
 * Whether the deployed site will screen its images: the model's safety checker (safety.checker
 * `model`, the folder ships it) or nothing. No filter is a warning where the model asks for one or
 * the operator turned it off, so that it is a decision and never a surprise (issue 21).
 */
import { readModelFolder } from '../../../container/src/engine/model/model-folder';
import { CONFIG_CONTEXT_KEY } from '../../../lib/config/deployment-config';
import { SAFETY_CHECKER_MODEL } from '../../../contract/safety';
import type { Check } from '../check';

export const contentFilter: Check = {
  name: 'content filter',
  usesAws: false,
  async run({ config }) {
    if (config.safety.checker === 'off') {
      return {
        status: 'warn',
        message: 'safety.checker is off: the site returns every image unfiltered, and /v1/status says so',
        fix: `set ${CONFIG_CONTEXT_KEY}.safety.checker to "model" to use the model's own safety checker`,
      };
    }
    if (config.model.kind === 's3') {
      return { status: 'pass', message: `the engine runs the safety checker if ${config.model.s3Uri} has ${SAFETY_CHECKER_MODEL}; /v1/status reports which` };
    }
    // A folder the engine refuses is the model check's to report.
    const folder = await readModelFolder(config.model.path).catch(() => undefined);
    if (folder === undefined) return { status: 'pass', message: 'see the model check' };
    const { safetyChecker } = folder;
    if (safetyChecker.model !== undefined) return { status: 'pass', message: "the model's safety checker screens every image; a flagged one is withheld" };
    if (safetyChecker.required) {
      return {
        status: 'warn',
        message: `model_index.json requires a safety checker but the folder has no ${SAFETY_CHECKER_MODEL}: the site would return every image unfiltered`,
        fix: `fetch the model again without --without-safety-checker (npm run model -- fetch REPO), or set ${CONFIG_CONTEXT_KEY}.safety.checker to "off" to say this is intended`,
      };
    }
    return { status: 'pass', message: 'the model has no safety checker and does not ask for one: images are not filtered' };
  },
};

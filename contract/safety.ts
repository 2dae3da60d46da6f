/**
 * The safety checker's facts for every part: the deployment setting, the withheld image, the
 * content filter `/v1/status` reports. No zod here, so the page can import it without the
 * validator (the schema is in withheld-image.ts).
 */
/**
 * `model`: run the model's own safety checker where its folder ships one; `off`: never. Per
 * deployment (`safety.checker`), followed by the engine server, the Lambda engine and `npm start`.
 */
export const SAFETY_CHECKER_SETTINGS = ['model', 'off'] as const;
export type SafetyCheckerSetting = (typeof SAFETY_CHECKER_SETTINGS)[number];
export const DEFAULT_SAFETY_CHECKER: SafetyCheckerSetting = 'model';

export function isSafetyCheckerSetting(value: unknown): value is SafetyCheckerSetting {
  return typeof value === 'string' && (SAFETY_CHECKER_SETTINGS as readonly string[]).includes(value);
}

/** Why an image was not returned: `safety`, the model's safety checker flagged it. */
export const WITHHELD_REASONS = ['safety'] as const;

export type WithheldReason = (typeof WITHHELD_REASONS)[number];

/** An image the engine made but did not return, encode or store; it counts against quotas all the same. */
export interface WithheldImage {
  readonly seed: number;
  readonly withheld: WithheldReason;
}

export function isWithheld(image: object): image is WithheldImage {
  return 'withheld' in image;
}

/** The environment variable the engine server, the engine function and `npm start` read the setting from. */
export const SAFETY_CHECKER_ENV = 'SAFETY_CHECKER';

/** `SAFETY_CHECKER` from an environment, `model` when unset; anything else fails, naming the variable. */
export function safetyCheckerFromEnv(env: Readonly<Record<string, string | undefined>>): SafetyCheckerSetting {
  const raw = env[SAFETY_CHECKER_ENV];
  if (raw === undefined || raw === '') return DEFAULT_SAFETY_CHECKER;
  if (!isSafetyCheckerSetting(raw)) throw new Error(`${SAFETY_CHECKER_ENV} must be one of ${SAFETY_CHECKER_SETTINGS.join(', ')} but is ${JSON.stringify(raw)}`);
  return raw;
}

/** What screens the images a deployment returns, as `/ping` and `GET /v1/status` report it. */
export const CONTENT_FILTERS = ['safety_checker', 'none'] as const;
export type ContentFilter = (typeof CONTENT_FILTERS)[number];

/** Where diffusers' ONNX layout keeps the checker's parts, relative to the model folder. */
export const SAFETY_CHECKER_MODEL = 'safety_checker/model.onnx';
export const FEATURE_EXTRACTOR_CONFIG = 'feature_extractor/preprocessor_config.json';

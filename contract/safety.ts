import * as z from 'zod';

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

/** An image the engine made but did not return, encode or store; it counts against quotas all the same. */
export const withheldImageSchema = z.strictObject({
  seed: z.number().int().min(0).meta({ description: 'The seed of the image that was held back.' }),
  withheld: z.enum(WITHHELD_REASONS).meta({ description: "`safety`: the model's safety checker flagged it." }),
});
export type WithheldImage = z.infer<typeof withheldImageSchema>;

export function isWithheld(image: object): image is WithheldImage {
  return 'withheld' in image;
}

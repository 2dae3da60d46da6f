import * as z from 'zod';
import { WITHHELD_REASONS } from './safety';

/** An image entry the engine and the API give in place of one the safety checker withheld (see safety.ts). */
export const withheldImageSchema = z.strictObject({
  seed: z.number().int().min(0).meta({ description: 'The seed of the image that was held back.' }),
  withheld: z.enum(WITHHELD_REASONS).meta({ description: "`safety`: the model's safety checker flagged it." }),
});

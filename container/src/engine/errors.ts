/** A generation option this model cannot honour; `field` names it in API terms (e.g. `init_image`). */
export class InvalidGenerationInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidGenerationInputError';
  }
}

export class GenerationCancelledError extends Error {
  constructor() {
    super('generation was cancelled');
    this.name = 'GenerationCancelledError';
  }
}

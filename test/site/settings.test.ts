import { DEFAULTS, LIMITS } from '../../contract/limits';
import { SIZE_PRESETS } from '../../site/src/choices';
import { parseGenerationRequest } from '../../contract/generation-request';
import { buildRequest, CUSTOM_SIZE, DEFAULT_VALUES, defaultValuesFor, mergeParameters, randomSeed, sizeKey, valuesFromRequest } from '../../site/src/settings';

const form = (overrides: Partial<typeof DEFAULT_VALUES>) => ({ ...DEFAULT_VALUES, prompt: 'a red fox', ...overrides });

describe('buildRequest', () => {
  it('turns the default form into a request the shared schema accepts', () => {
    const built = buildRequest(form({}));
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.request).toEqual({
      prompt: 'a red fox',
      steps: DEFAULTS.steps,
      guidance_scale: DEFAULTS.guidanceScale,
      num_images: DEFAULTS.numImages,
      output_format: DEFAULTS.outputFormat,
    });
    expect(parseGenerationRequest(built.request).ok).toBe(true);
  });

  it('sends every set field, each accepted by the shared schema', () => {
    const preset = SIZE_PRESETS[1];
    const built = buildRequest(
      form({
        negative_prompt: 'blurry',
        steps: String(LIMITS.stepsMax),
        guidance_scale: '3.5',
        size: sizeKey(preset.width, preset.height),
        seed: String(LIMITS.seedMax),
        scheduler: 'euler_ancestral',
        num_images: String(LIMITS.numImagesMax),
        output_format: 'webp',
      }),
    );
    expect(built.ok && parseGenerationRequest(built.request)).toEqual({ ok: true, request: built.ok && built.request });
    expect(built.ok && built.request).toMatchObject({ width: preset.width, height: preset.height, seed: LIMITS.seedMax });
  });

  it.each([
    ['prompt', { prompt: '   ' }],
    ['prompt', { prompt: 'x'.repeat(LIMITS.promptMaxLength + 1) }],
    ['steps', { steps: String(LIMITS.stepsMax + 1) }],
    ['steps', { steps: '2.5' }],
    ['guidance_scale', { guidance_scale: String(LIMITS.guidanceScaleMax + 0.5) }],
    ['guidance_scale', { guidance_scale: '' }],
    ['seed', { seed: String(LIMITS.seedMax + 1) }],
    ['seed', { seed: '-1' }],
    ['width', { size: CUSTOM_SIZE, width: String(LIMITS.sizeMin + 1) }],
    ['height', { size: CUSTOM_SIZE, height: String(LIMITS.sizeMax + LIMITS.sizeMultiple) }],
    ['width', { size: CUSTOM_SIZE, width: String(LIMITS.sizeMax), height: String(LIMITS.sizeMax) }],
    ['scheduler', { scheduler: 'warp_drive' }],
  ])('rejects a bad %s before any request is sent', (field, overrides) => {
    const built = buildRequest(form(overrides));
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.error.field).toBe(field);
    expect(built.error.detail).toBeTruthy();
  });

  it('accepts exactly what the shared schema accepts at the edges of every limit', () => {
    const edges = [
      form({ steps: String(LIMITS.stepsMin), guidance_scale: String(LIMITS.guidanceScaleMin), seed: String(LIMITS.seedMin) }),
      form({ size: CUSTOM_SIZE, width: String(LIMITS.sizeMin), height: String(LIMITS.sizeMax) }),
    ];
    for (const values of edges) {
      const built = buildRequest(values);
      expect(built.ok).toBe(true);
      if (built.ok) expect(parseGenerationRequest(built.request).ok).toBe(true);
    }
  });
});

describe('valuesFromRequest', () => {
  it('round-trips a request through the form, picking one image of a batch by its seed', () => {
    const request = { prompt: 'owl', steps: 12, guidance_scale: 4, width: 640, height: 512, scheduler: 'ddim' as const, num_images: 3, output_format: 'jpeg' as const };
    const values = valuesFromRequest(request, 77);
    expect(values).toMatchObject({ size: CUSTOM_SIZE, width: '640', seed: '77', num_images: '1', scheduler: 'ddim' });
    const rebuilt = buildRequest(values);
    expect(rebuilt.ok && rebuilt.request).toEqual({ ...request, seed: 77, num_images: 1 });
  });

  it('maps preset sizes back to their preset', () => {
    const preset = SIZE_PRESETS[2];
    expect(valuesFromRequest({ prompt: 'x', width: preset.width, height: preset.height }).size).toBe(sizeKey(preset.width, preset.height));
  });
});

describe('mergeParameters', () => {
  it('takes the settings the server resolved and ignores what it cannot trust', () => {
    const merged = mergeParameters(
      { prompt: 'fox', steps: 20, output_format: 'png' },
      { width: 64, height: 64, scheduler: 'pndm', steps: 'many', output_format: 'tiff', prompt: '' },
    );
    expect(merged).toEqual({ prompt: 'fox', steps: 20, output_format: 'png', width: 64, height: 64, scheduler: 'pndm' });
  });
});

describe('randomSeed', () => {
  it('spans the allowed range', () => {
    expect(randomSeed(() => Uint32Array.of(0))).toBe(LIMITS.seedMin);
    expect(randomSeed(() => Uint32Array.of(0xffffffff))).toBe(LIMITS.seedMax);
    const seed = randomSeed();
    expect(Number.isInteger(seed) && seed >= LIMITS.seedMin && seed <= LIMITS.seedMax).toBe(true);
  });
});

describe('defaults for the deployed model', () => {
  it("take the model's steps, guidance and size, and keep the rest", () => {
    const model = { width: 64, height: 64, scheduler: 'pndm' as const, steps: 20, guidance_scale: 2, accepts_init_image: true, accepts_negative_prompt: true };
    expect(defaultValuesFor(model)).toEqual({ ...DEFAULT_VALUES, steps: '20', guidance_scale: '2', width: '64', height: '64' });
    expect(defaultValuesFor(undefined)).toBe(DEFAULT_VALUES);
  });
});

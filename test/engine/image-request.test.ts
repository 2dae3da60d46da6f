/**
 * The request fields of image-to-image as every tier parses them (contract/generation-request.ts):
 * `init_image` base64 within its size limit, `strength` in (0, 1] and only with an init image.
 */
import { parseGenerationRequest, parseGenerationRequestBody } from '../../contract/generation-request';
import { LIMITS } from '../../contract/limits';

const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

describe('init_image and strength', () => {
  it('accept base64 or a data: URL, with or without strength', () => {
    expect(parseGenerationRequest({ prompt: 'x', init_image: PNG_BASE64 })).toMatchObject({ ok: true });
    expect(parseGenerationRequest({ prompt: 'x', init_image: `data:image/png;base64,${PNG_BASE64}`, strength: 1 })).toMatchObject({ ok: true });
    expect(parseGenerationRequest({ prompt: 'x', init_image: PNG_BASE64, strength: 0.01 })).toMatchObject({ ok: true, request: { strength: 0.01 } });
  });

  it.each<[Record<string, unknown>, string, RegExp]>([
    [{ strength: 0.5 }, 'strength', /strength applies only to image-to-image/],
    [{ init_image: PNG_BASE64, strength: 0 }, 'strength', /strength must be greater than 0/],
    [{ init_image: PNG_BASE64, strength: 1.01 }, 'strength', /strength must be at most 1/],
    [{ init_image: PNG_BASE64, strength: '0.5' }, 'strength', /strength must be a number/],
    [{ init_image: 'not base64!' }, 'init_image', /init_image must be a base64 PNG, JPEG or WebP image/],
    [{ init_image: 'data:image/gif;base64,R0lGODlh' }, 'init_image', /init_image must be a base64 PNG, JPEG or WebP image/],
    [{ init_image: '' }, 'init_image', /init_image must be a base64/],
    [{ init_image: 42 }, 'init_image', /init_image must be a string/],
  ])('refuses %j, naming %s', (fields, field, message) => {
    const result = parseGenerationRequest({ prompt: 'x', ...fields });
    expect(result).toMatchObject({ ok: false, error: { field, message: expect.stringMatching(message) } });
  });

  it('marks an init image over its size limit, and a body over the body limit, as too large (413)', () => {
    const big = parseGenerationRequest({ prompt: 'x', init_image: 'A'.repeat(LIMITS.initImageMaxBase64Length + 4) });
    expect(big).toEqual({ ok: false, error: { field: 'init_image', message: expect.stringMatching(/at most 3145728 characters/), tooLarge: true } });
    const body = parseGenerationRequestBody(JSON.stringify({ prompt: 'x', init_image: 'A'.repeat(LIMITS.maxBodyBytes) }));
    expect(body).toMatchObject({ ok: false, error: { field: 'body', tooLarge: true } });
  });

  it('leave room in the body limit for the largest init image plus the settings, below SageMaker serverless 4 MB', () => {
    const largest = JSON.stringify({ prompt: 'p'.repeat(LIMITS.promptMaxLength), negative_prompt: 'n'.repeat(LIMITS.negativePromptMaxLength), init_image: 'A'.repeat(LIMITS.initImageMaxBase64Length) });
    expect(parseGenerationRequestBody(largest)).toMatchObject({ ok: true });
    expect(LIMITS.maxBodyBytes).toBeLessThan(4_000_000);
  });
});

/** Image-to-image and the model's own defaults at the engine's server, over real HTTP on the tiny fixture models. */
import sharp from 'sharp';
import { engineHealthSchema } from '../../contract/model-info';
import { LIMITS } from '../../contract/limits';
import { startEngineServer, type RunningEngineServer } from '../../container/src/server/start';
import type { Logger } from '../../container/src/server/json-logger';
import { TINY_LCM, TINY_SD, TINY_SD_LEGACY } from '../support/oracle';
import { httpRequest, pngSize, postJson } from '../support/http';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const start = (modelDir: string) => startEngineServer({ modelDir, port: 0, executionProvider: 'cpu', logger: quiet }).then(async (server) => {
  await server.ready;
  return server;
});

async function pngBase64(width: number, height: number): Promise<string> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set([200, (i / 3) % 256, 40], i);
  return (await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer()).toString('base64');
}

describe('the engine server on a model with a VAE encoder (tiny-sd)', () => {
  let server: RunningEngineServer;
  beforeAll(async () => {
    server = await start(TINY_SD);
  }, 60_000);
  afterAll(() => server?.close());

  it('reports the model on /ping: native size, scheduler, steps, guidance and what it accepts', async () => {
    const health = engineHealthSchema.parse((await httpRequest(`${server.url}/ping`)).json());
    expect(health).toEqual({
      status: 'ready',
      model: { width: 64, height: 64, scheduler: 'pndm', steps: 25, guidance_scale: 7.5, accepts_init_image: true, accepts_negative_prompt: true, content_filter: 'none', decoder: 'full' },
    });
  });

  it('starts from an init image, resized to the requested size, and reports the strength it used', async () => {
    const result = await postJson(`${server.url}/invocations`, { prompt: 'a red fox', init_image: await pngBase64(100, 80), width: 64, height: 64, steps: 4, seed: 3 });
    expect(result.status).toBe(200);
    const body = result.json();
    expect(body.parameters).toMatchObject({ width: 64, height: 64, strength: 0.8 });
    expect(pngSize(Buffer.from(body.images[0].data, 'base64'))).toEqual({ width: 64, height: 64 });
  });

  it.each([
    [{ init_image: 'bm90IGFuIGltYWdl' }, 400, 'init_image'],
    [{ init_image: 'A'.repeat(LIMITS.initImageMaxBase64Length + 4) }, 413, 'init_image'],
    [{ strength: 0.5 }, 400, 'strength'],
    [{ init_image: 'iVBORw0KGgo=', strength: 0 }, 400, 'strength'],
    [{ init_image: 'iVBORw0KGgo=', strength: 1.5 }, 400, 'strength'],
  ])('refuses %#, naming the field', async (fields, status, field) => {
    const result = await postJson(`${server.url}/invocations`, { prompt: 'x', width: 64, height: 64, steps: 2, ...fields });
    expect(result.status).toBe(status);
    expect(result.json().error).toMatchObject({ field });
  });

  it('refuses an init image of more decoded pixels than the limit', async () => {
    const side = Math.ceil(Math.sqrt(LIMITS.initImageMaxPixels)) + 8;
    const huge = (await sharp({ create: { width: side, height: side, channels: 3, background: '#808080' } }).jpeg({ quality: 10 }).toBuffer()).toString('base64');
    const result = await postJson(`${server.url}/invocations`, { prompt: 'x', width: 64, height: 64, steps: 2, init_image: huge });
    expect(result.status).toBe(400);
    expect(result.json().error).toMatchObject({ field: 'init_image', message: expect.stringMatching(/pixels/) });
  });
});

describe('the engine server on models that cannot take everything', () => {
  it('refuses a negative prompt for an LCM-distilled model, and follows its own LCM defaults', async () => {
    const server = await start(TINY_LCM);
    try {
      const health = engineHealthSchema.parse((await httpRequest(`${server.url}/ping`)).json());
      expect(health.model).toMatchObject({ scheduler: 'lcm', steps: 4, guidance_scale: 8.5, accepts_negative_prompt: false });
      const refused = await postJson(`${server.url}/invocations`, { prompt: 'x', negative_prompt: 'blurry', width: 64, height: 64 });
      expect(refused.status).toBe(400);
      expect(refused.json().error).toMatchObject({ code: 'invalid_request', field: 'negative_prompt' });
      const made = await postJson(`${server.url}/invocations`, { prompt: 'x', width: 64, height: 64, seed: 1 });
      expect(made.json().parameters).toMatchObject({ scheduler: 'lcm', steps: 4, guidance_scale: 8.5 });
    } finally {
      await server.close();
    }
  }, 60_000);

  it('refuses an init image for a model without a VAE encoder', async () => {
    const server = await start(TINY_SD_LEGACY);
    try {
      expect(engineHealthSchema.parse((await httpRequest(`${server.url}/ping`)).json()).model?.accepts_init_image).toBe(false);
      const refused = await postJson(`${server.url}/invocations`, { prompt: 'x', width: 64, height: 64, init_image: await pngBase64(64, 64) });
      expect(refused.status).toBe(400);
      expect(refused.json().error).toMatchObject({ field: 'init_image', message: expect.stringMatching(/VAE encoder/) });
    } finally {
      await server.close();
    }
  }, 60_000);
});

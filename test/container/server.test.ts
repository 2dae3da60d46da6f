/** The engine's SageMaker server over real HTTP on the tiny fixture model. */
import { createEngineHttpServer } from '../../container/src/server/http-server';
import { EngineService } from '../../container/src/server/engine-service';
import { startEngineServer, type RunningEngineServer } from '../../container/src/server/start';
import type { Logger } from '../../container/src/server/json-logger';
import { LIMITS } from '../../contract/limits';
import { TINY_SD } from '../support/oracle';
import { httpRequest, pngSize, postJson, PNG_SIGNATURE } from '../support/http';
import type { AddressInfo } from 'node:net';

function captureLogger() {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

describe('GET /ping', () => {
  it('answers 503 until the model is loaded and warmed up, then 200', async () => {
    let service: EngineService | undefined;
    const { logger } = captureLogger();
    const server = createEngineHttpServer({ service: () => service, logger, requestTimeoutMs: 60_000, logPrompts: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await httpRequest(`${url}/ping`)).status).toBe(503);
      const early = await postJson(`${url}/invocations`, { prompt: 'a cat' });
      expect(early.status).toBe(503);
      expect(early.json().error.code).toBe('not_ready');
      service = await EngineService.load({ modelDir: TINY_SD, executionProvider: 'cpu', maxQueuedRequests: 2 });
      expect((await httpRequest(`${url}/ping`)).status).toBe(200);
      // Where the load went, for the cold-start log line: every session by file, and the warm-up run.
      const timings = service.loadTimings!;
      expect(Object.keys(timings.sessionMs).sort()).toEqual(['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx']);
      expect(Object.values(timings.sessionMs).every((ms) => ms >= 0 && ms <= timings.pipelineMs)).toBe(true);
      // Warmed up at load already (the default): a second warm-up does nothing.
      expect(await service.warmUp()).toBe(0);
      await service.close(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('POST /invocations', () => {
  let server: RunningEngineServer;
  const captured = captureLogger();
  beforeAll(async () => {
    server = await startEngineServer({ modelDir: TINY_SD, port: 0, executionProvider: 'cpu', maxQueuedRequests: 1, logger: captured.logger });
    await server.ready;
  });
  afterAll(() => server.close());
  const invoke = (body: unknown, headers?: Record<string, string>) => postJson(`${server.url}/invocations`, body, headers);

  it("answers the gateway's warm-up event without generating, and refuses anything beside it", async () => {
    const response = await invoke({ warmup: true });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ warmed: true });
    const extra = await invoke({ warmup: true, prompt: 'x' });
    expect(extra.status).toBe(400);
  });

  it('answers JSON with base64 images, their seeds and timings', async () => {
    const response = await invoke({ prompt: 'a lighthouse', steps: 3, seed: 42, num_images: 2 });
    expect(response.status).toBe(200);
    const body = response.json();
    expect(body.images).toHaveLength(2);
    expect(body.images.map((image: { seed: number }) => image.seed)).toEqual([42, 43]);
    const png = Buffer.from(body.images[0].data, 'base64');
    expect(pngSize(png)).toEqual({ width: 64, height: 64 }); // the tiny UNet's native size
    expect(body.images[0]).toMatchObject({ format: 'png', width: 64, height: 64 });
    expect(body.timings.total_ms).toBeGreaterThan(0);
    expect(body.parameters).toMatchObject({ steps: 3, scheduler: 'pndm', num_images: 2 });
  });

  it('makes any multiple of 8, also sizes the exported UNet only takes padded', async () => {
    const response = await invoke({ prompt: 'a narrow one', steps: 1, width: 72, height: 64 });
    expect(response.status).toBe(200);
    expect(pngSize(Buffer.from(response.json().images[0].data, 'base64'))).toEqual({ width: 72, height: 64 });
  });

  it('is reproducible: the same seed gives the same bytes', async () => {
    const a = await invoke({ prompt: 'a red door', steps: 2, seed: 7 });
    const b = await invoke({ prompt: 'a red door', steps: 2, seed: 7 });
    const c = await invoke({ prompt: 'a red door', steps: 2, seed: 8 });
    expect(a.json().images[0].data).toBe(b.json().images[0].data);
    expect(a.json().images[0].data).not.toBe(c.json().images[0].data);
  });

  it('answers with the first image itself when Accept asks for an image type', async () => {
    const png = await invoke({ prompt: 'a boat', steps: 1, seed: 1 }, { Accept: 'image/png' });
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.body.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(png.headers['x-image-seed']).toBe('1');
    const webp = await invoke({ prompt: 'a boat', steps: 1 }, { Accept: 'image/webp' });
    expect(webp.headers['content-type']).toBe('image/webp');
    expect(webp.body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    const jpeg = await invoke({ prompt: 'a boat', steps: 1, output_format: 'jpeg' });
    expect(Buffer.from(jpeg.json().images[0].data, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('refuses an Accept it cannot serve and a format that contradicts it', async () => {
    const html = await invoke({ prompt: 'x' }, { Accept: 'text/html' });
    expect(html.status).toBe(406);
    const conflict = await invoke({ prompt: 'x', output_format: 'jpeg' }, { Accept: 'image/png' });
    expect(conflict.status).toBe(400);
    expect(conflict.json().error.field).toBe('output_format');
  });

  const invalid: Array<[string, unknown, string]> = [
    ['missing prompt', {}, 'prompt'],
    ['blank prompt', { prompt: '   ' }, 'prompt'],
    ['prompt too long', { prompt: 'a'.repeat(LIMITS.promptMaxLength + 1) }, 'prompt'],
    ['prompt not a string', { prompt: 42 }, 'prompt'],
    ['negative prompt too long', { prompt: 'x', negative_prompt: 'n'.repeat(LIMITS.negativePromptMaxLength + 1) }, 'negative_prompt'],
    ['steps below min', { prompt: 'x', steps: LIMITS.stepsMin - 1 }, 'steps'],
    ['steps above max', { prompt: 'x', steps: LIMITS.stepsMax + 1 }, 'steps'],
    ['steps fractional', { prompt: 'x', steps: 2.5 }, 'steps'],
    ['steps as string', { prompt: 'x', steps: '10' }, 'steps'],
    ['guidance below min', { prompt: 'x', guidance_scale: LIMITS.guidanceScaleMin - 0.5 }, 'guidance_scale'],
    ['guidance above max', { prompt: 'x', guidance_scale: LIMITS.guidanceScaleMax + 0.5 }, 'guidance_scale'],
    ['width not multiple of 8', { prompt: 'x', width: 68 }, 'width'],
    ['width too small', { prompt: 'x', width: LIMITS.sizeMin - 8 }, 'width'],
    ['height too large', { prompt: 'x', height: LIMITS.sizeMax + 8 }, 'height'],
    ['too many pixels', { prompt: 'x', width: 1024, height: 1024 }, 'width'],
    ['num_images zero', { prompt: 'x', num_images: 0 }, 'num_images'],
    ['num_images above max', { prompt: 'x', num_images: LIMITS.numImagesMax + 1 }, 'num_images'],
    ['negative seed', { prompt: 'x', seed: -1 }, 'seed'],
    ['seed past 32 bits', { prompt: 'x', seed: LIMITS.seedMax + 1 }, 'seed'],
    ['unknown scheduler', { prompt: 'x', scheduler: 'heun' }, 'scheduler'],
    ['unknown output format', { prompt: 'x', output_format: 'gif' }, 'output_format'],
    ['unknown field', { prompt: 'x', strength: 0.5 }, 'strength'],
    ['array body', [{ prompt: 'x' }], 'body'],
    ['null body', null, 'body'],
    ['not JSON', '{"prompt": ', 'body'],
  ];
  it.each(invalid)('400 naming the field: %s', async (_, body, field) => {
    const response = await invoke(typeof body === 'string' ? body : JSON.stringify(body));
    expect(response.status).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'invalid_request', field, message: expect.any(String) });
  });

  it('415 for a body that is not declared JSON', async () => {
    const response = await httpRequest(`${server.url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"prompt":"x"}' });
    expect(response.status).toBe(415);
    expect(response.json().error.field).toBe('content-type');
  });

  it('413 for a body over the limit, declared or streamed', async () => {
    const big = JSON.stringify({ prompt: 'x', negative_prompt: 'y'.repeat(LIMITS.maxBodyBytes) });
    expect((await invoke(big)).status).toBe(413);
    const chunked = await httpRequest(`${server.url}/invocations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      body: big,
    });
    expect(chunked.status).toBe(413);
  });

  it('404 and 405 for other routes and methods', async () => {
    expect((await httpRequest(`${server.url}/nope`)).status).toBe(404);
    expect((await httpRequest(`${server.url}/invocations`)).status).toBe(405);
    expect((await httpRequest(`${server.url}/ping`, { method: 'DELETE' })).status).toBe(405);
  });

  it('runs one generation at a time and refuses past the queue bound with a retryable 429', async () => {
    const slow = { prompt: 'a slow one', steps: 15, width: 256, height: 256 };
    const responses = await Promise.all([invoke(slow), invoke(slow), invoke(slow), invoke(slow)]);
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(2); // the running one and the one queued
    const refused = responses.filter((r) => r.status === 429);
    expect(refused).toHaveLength(2);
    expect(refused[0].json().error.code).toBe('queue_full');
    expect(Number(refused[0].headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('cancels the generation when the client goes away', async () => {
    const controller = new AbortController();
    const gone = postJson(`${server.url}/invocations`, { prompt: 'gone', steps: 50, width: 256, height: 256 }, {}, controller.signal).catch((e: Error) => e);
    setTimeout(() => controller.abort(), 150);
    expect(await gone).toMatchObject({ name: 'AbortError' });
    await waitFor(() => captured.lines.some((line) => line.message === 'request' && line.fields.status === 499));
    const afterwards = await invoke({ prompt: 'still works', steps: 1 });
    expect(afterwards.status).toBe(200);
  });

  it('logs one line per request with timings and never the prompt', async () => {
    await invoke({ prompt: 'a very private prompt', steps: 1 });
    const line = captured.lines.filter((l) => l.message === 'request' && l.fields.status === 200).at(-1)!;
    expect(line.fields).toMatchObject({ method: 'POST', path: '/invocations', prompt_chars: 21, total_ms: expect.any(Number) });
    expect(JSON.stringify(captured.lines)).not.toContain('a very private prompt');
  });
});

describe('stopping while the model loads', () => {
  it('returns at once instead of waiting for the load, and never reports ready', async () => {
    const server = await startEngineServer({ modelDir: TINY_SD, port: 0, executionProvider: 'cpu', logger: captureLogger().logger });
    await server.close();
    await expect(server.ready).rejects.toThrow(/stopped before the model finished loading/);
  });
});

describe('request timeout', () => {
  it('answers 504 and frees the engine when a generation runs too long', async () => {
    const server = await startEngineServer({ modelDir: TINY_SD, port: 0, executionProvider: 'cpu', requestTimeoutMs: 150, logger: captureLogger().logger });
    try {
      await server.ready;
      const response = await postJson(`${server.url}/invocations`, { prompt: 'too slow', steps: 50, width: 256, height: 256 });
      expect(response.status).toBe(504);
      expect(response.json().error.code).toBe('timeout');
    } finally {
      await server.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

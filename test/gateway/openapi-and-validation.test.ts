import type { APIGatewayProxyResult } from 'aws-lambda';
import { generationRequestSchema } from '../../contract/generation-request';
import { LIMITS, SCHEDULER_NAMES } from '../../contract/limits';
import { GATEWAY_ERROR_CODES as ERROR_CODES } from '../../contract/errors';
import { openApiDocument } from '../../contract/openapi';
import { awsGateway, resetAws } from './support/aws-fakes';
import { apiEvent, postImages } from './support/events';
import { openApiResponseValidator } from './support/openapi-validator';
import Ajv2020 from 'ajv/dist/2020';

const document = openApiDocument() as any;
const validate = openApiResponseValidator(document);
const body = (result: APIGatewayProxyResult): any => JSON.parse(result.body);

beforeEach(() => resetAws());

describe('the OpenAPI document', () => {
  it('is served at GET /v1/openapi.json as the same document', async () => {
    const result = await awsGateway().gateway(apiEvent({ method: 'GET', path: '/v1/openapi.json' }));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual(document);
  });

  it('takes the request body from the shared zod schema and limits', () => {
    const request = document.components.schemas.GenerationRequest;
    expect(Object.keys(request.properties).sort()).toEqual(Object.keys(generationRequestSchema.shape).sort());
    expect(request.required).toEqual(['prompt']);
    expect(request.additionalProperties).toBe(false);
    expect(request.properties.steps).toMatchObject({ minimum: LIMITS.stepsMin, maximum: LIMITS.stepsMax });
    expect(request.properties.width).toMatchObject({ minimum: LIMITS.sizeMin, maximum: LIMITS.sizeMax, multipleOf: LIMITS.sizeMultiple });
    expect(request.properties.scheduler.enum).toEqual([...SCHEDULER_NAMES]);
    expect(document.components.schemas.Error.properties.error.properties.code.enum).toEqual(ERROR_CODES);
  });

  it('agrees with the gateway on which request bodies are valid', async () => {
    const ajv = new Ajv2020({ strict: false });
    const schemaValid = ajv.compile(document.components.schemas.GenerationRequest);
    const { gateway } = awsGateway({ QUOTA_PER_IP_PER_DAY: '1000', QUOTA_GLOBAL_PER_DAY: '1000' });
    const cases: unknown[] = [
      { prompt: 'ok' },
      { prompt: 'ok', steps: LIMITS.stepsMax, scheduler: 'ddim', width: 512, height: 768, num_images: 4, output_format: 'webp', seed: 0 },
      { prompt: 'ok', steps: LIMITS.stepsMax + 1 },
      { prompt: 'ok', width: 513 },
      { prompt: 'ok', scheduler: 'heun' },
      { prompt: 'ok', extra: 1 },
      { prompt: 'ok', guidance_scale: -0.5 },
      { prompt: 'ok', seed: LIMITS.seedMax + 1 },
      { prompt: 'x'.repeat(LIMITS.promptMaxLength + 1) },
      { steps: 10 },
      { prompt: 7 },
    ];
    for (const request of cases) {
      const accepted = (await gateway(postImages(request))).statusCode === 202;
      expect([request, schemaValid(request)]).toEqual([request, accepted]);
    }
  });
});

describe('request validation through the shared schema', () => {
  it.each([
    [{ steps: 10 }, 'prompt', 'prompt is required'],
    [{ prompt: '   ' }, 'prompt', 'prompt must not be empty'],
    [{ prompt: 'x', steps: 0 }, 'steps', 'steps must be at least 1'],
    [{ prompt: 'x', width: 100 }, 'width', 'width must be a multiple of 8'],
    [{ prompt: 'x', width: 1024, height: 1024 }, 'width', 'width × height must be at most'],
    [{ prompt: 'x', colour: 'red' }, 'colour', 'unknown field "colour"'],
    [[1, 2], 'body', 'request body must be a JSON object'],
    ['{"prompt": ', 'body', 'request body must be valid JSON'],
  ])('%j → 400 naming %s', async (request, field, message) => {
    const result = await awsGateway().gateway(postImages(request));
    expect(result.statusCode).toBe(400);
    expect(body(result).error).toMatchObject({ code: 'invalid_request', field });
    expect(body(result).error.message).toContain(message);
    expect(validate('POST', '/v1/images', 400, body(result))).toEqual([]);
  });

  it('413 for a body over the shared byte limit, before parsing it', async () => {
    const result = await awsGateway().gateway(postImages(JSON.stringify({ prompt: 'x'.repeat(LIMITS.maxBodyBytes) })));
    expect(result.statusCode).toBe(413);
    expect(body(result).error).toMatchObject({ code: 'body_too_large', field: 'body' });
    expect(validate('POST', '/v1/images', 413, body(result))).toEqual([]);
  });

  it('415 unless the body is declared JSON', async () => {
    const { gateway } = awsGateway();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const result = await gateway(postImages({ prompt: 'x' }, { 'Content-Type': type }));
      expect(result.statusCode).toBe(415);
      expect(body(result).error.code).toBe('unsupported_media_type');
    }
    expect((await gateway(postImages({ prompt: 'x' }, { 'content-type': 'application/json; charset=utf-8' }))).statusCode).toBe(202);
  });

  it('reads base64-encoded bodies as API Gateway may send them', async () => {
    const event = postImages({ prompt: 'x' });
    event.body = Buffer.from(event.body!).toString('base64');
    event.isBase64Encoded = true;
    expect((await awsGateway().gateway(event)).statusCode).toBe(202);
  });

  it('404 for unknown paths and 405 with Allow for wrong methods, both in the error shape', async () => {
    const { gateway } = awsGateway();
    const missing = await gateway(apiEvent({ method: 'GET', path: '/v2/images' }));
    expect(missing.statusCode).toBe(404);
    expect(body(missing).error.code).toBe('not_found');
    const wrong = await gateway(apiEvent({ method: 'DELETE', path: '/v1/images' }));
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers!.Allow).toBe('POST, OPTIONS');
    expect(body(wrong).error.code).toBe('method_not_allowed');
  });

  it('routes the same under explicit resources and a {proxy+} resource', async () => {
    const { gateway } = awsGateway();
    const job = body(await gateway(postImages({ prompt: 'x' })));
    for (const layout of ['proxy', 'explicit'] as const) {
      const result = await gateway(apiEvent({ method: 'GET', path: `/v1/images/${job.id}`, layout }));
      expect(result.statusCode).toBe(200);
    }
  });
});

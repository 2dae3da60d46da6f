import * as z from 'zod';
import { generationRequestSchema } from '../../../container/src/api/generation-request';
import { LIMITS, OUTPUT_FORMATS } from '../../../container/src/api/limits';
import { BACKEND_STATES } from '../backends/backend';
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from '../http/errors';
import { JOB_ID_PATTERN } from '../jobs/job-id';
import { JOB_STATUSES } from '../jobs/job';

type JsonSchema = Record<string, unknown>;

/**
 * The request body's schema, derived from the shared zod schema. Refinements have no JSON Schema
 * form, so the two that matter to clients are added back from the same limits.
 */
function requestBodySchema(): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(generationRequestSchema, { io: 'input' }) as JsonSchema;
  const properties = schema.properties as Record<string, JsonSchema>;
  for (const side of ['width', 'height']) properties[side] = { ...properties[side], multipleOf: LIMITS.sizeMultiple };
  properties.prompt = { ...properties.prompt, minLength: 1 };
  return {
    ...schema,
    description: `width × height may be at most ${LIMITS.maxPixels} pixels; the body at most ${LIMITS.maxBodyBytes} bytes.`,
  };
}

const timestamp = { type: 'string', format: 'date-time' };
const count = { type: 'integer', minimum: 0 };

const schemas: Record<string, JsonSchema> = {
  GenerationRequest: requestBodySchema(),
  Image: {
    type: 'object',
    required: ['url', 'width', 'height', 'seed', 'format'],
    additionalProperties: false,
    properties: {
      url: { type: 'string', format: 'uri', description: 'Short-lived (presigned) URL of the image.' },
      width: count,
      height: count,
      seed: { ...count, description: 'Reproduces exactly this image with `num_images: 1`.' },
      format: { type: 'string', enum: [...OUTPUT_FORMATS] },
    },
  },
  Job: {
    type: 'object',
    required: ['id', 'status', 'created_at', 'parameters'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: JOB_ID_PATTERN.source },
      status: {
        type: 'string',
        enum: [...JOB_STATUSES],
        description: '`expired`: the images were deleted after their retention period, or the job never ran.',
      },
      created_at: timestamp,
      started_at: timestamp,
      completed_at: timestamp,
      parameters: {
        $ref: '#/components/schemas/GenerationRequest',
        description: 'The accepted request; once finished, completed with the settings the engine resolved.',
      },
      images: { type: 'array', items: { $ref: '#/components/schemas/Image' } },
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: { code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
  Status: {
    type: 'object',
    required: ['state', 'instances', 'queue_depth', 'estimated_wait_seconds', 'message'],
    additionalProperties: false,
    properties: {
      state: {
        type: 'string',
        enum: [...BACKEND_STATES],
        description: '`cold`: scaled to zero, the next request starts an instance; `warming`: starting; `warm`: serving.',
      },
      instances: {
        type: 'object',
        required: ['current', 'desired'],
        additionalProperties: false,
        properties: { current: count, desired: count },
      },
      queue_depth: { ...count, description: 'Requests waiting or running.' },
      estimated_wait_seconds: {
        ...count,
        description:
          'For a request sent now. Cold: boot seconds + (queue_depth + 1) × seconds per image; warm: ' +
          '(queue_depth + 1) × seconds per image / instances. Both figures are deployment settings.',
      },
      message: { type: 'string', description: 'One sentence for people.' },
    },
  },
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: { type: 'string', enum: [...ERROR_CODES] },
          message: { type: 'string' },
          field: { type: 'string', description: 'The offending request field, for `invalid_request`.' },
          request_id: { type: 'string', description: 'Quote it when reporting a problem.' },
          retry_after_seconds: { type: 'integer', minimum: 1 },
        },
      },
    },
  },
};

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
};

function json(ref: string): JsonSchema {
  return { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } };
}

/** Error responses of an operation, grouped by status, each listing the codes it can carry. */
function errors(...codes: ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  // Every operation can meet the WAF's rate rule and an unexpected failure.
  for (const code of [...codes, 'rate_limited' as const, 'internal_error' as const]) {
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, list] of byStatus) {
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\``).join(', '),
      ...(list.some((code) => ['quota_exceeded', 'spend_guard', 'backend_busy', 'status_unavailable'].includes(code))
        ? { headers: retryAfter }
        : {}),
      content: json('Error'),
    };
  }
  return responses;
}

function buildDocument(): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Serverless Diffusion API',
      version: '1.0.0',
      description:
        'Text-to-image jobs on Stable Diffusion 1.x. Submit a job, poll it until it is `succeeded` or ' +
        '`failed`, then fetch its images. Every error has the shape of `Error`.',
    },
    paths: {
      '/v1/images': {
        post: {
          operationId: 'createImage',
          summary: 'Submit a generation job',
          requestBody: { required: true, content: json('GenerationRequest') },
          responses: {
            '202': { description: 'Accepted; poll `GET /v1/images/{id}`.', content: json('Job') },
            ...errors(
              'invalid_request',
              'origin_not_allowed',
              'body_too_large',
              'unsupported_media_type',
              'quota_exceeded',
              'spend_guard',
              'backend_busy',
            ),
          },
        },
      },
      '/v1/images/{id}': {
        get: {
          operationId: 'getImage',
          summary: 'A job and, once it succeeded, its images',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The job.', content: json('Job') },
            ...errors('not_found', 'backend_busy'),
          },
        },
      },
      '/v1/status': {
        get: {
          operationId: 'getStatus',
          summary: 'Whether the image generator is cold, warming or warm, and the expected wait',
          responses: {
            '200': { description: 'Backend status.', content: json('Status') },
            ...errors('status_unavailable'),
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: { schemas },
  };
}

let document: JsonSchema | undefined;
let text: string | undefined;

/** The API's OpenAPI document; built once per process. */
export function openApiDocument(): JsonSchema {
  return (document ??= buildDocument());
}

/** The document serialised, for serving. */
export function openApiText(): string {
  return (text ??= JSON.stringify(openApiDocument()));
}

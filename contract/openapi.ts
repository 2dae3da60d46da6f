import * as z from 'zod';
import { apiErrorBodySchema, ERROR_STATUS, type GatewayErrorCode } from './errors';
import { generationRequestSchema } from './generation-request';
import { jobImageSchema, jobSchema } from './job';
import { LIMITS } from './limits';
import { ROUTES, type RouteName } from './routes';
import { apiStatusSchema } from './status';
import { apiWarmUpSchema } from './warmup';

type JsonSchema = Record<string, unknown>;

/** Component names in the document; responses refer to them by `$ref`. */
const COMPONENTS = {
  GenerationRequest: generationRequestSchema,
  Image: jobImageSchema,
  Job: jobSchema,
  Status: apiStatusSchema,
  WarmUp: apiWarmUpSchema,
  Error: apiErrorBodySchema,
} as const;
type ComponentName = keyof typeof COMPONENTS;

/**
 * Every component from its zod schema, referring to the others by `$ref`. Refinements have no JSON
 * Schema form, so the two that matter to clients are added back from the same limits.
 */
function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, io: 'input' }) as {
    schemas: Record<string, JsonSchema>;
  };
  const result: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    result[id] = rest;
  }
  const request = result.GenerationRequest;
  const properties = request.properties as Record<string, JsonSchema>;
  for (const side of ['width', 'height']) properties[side] = { ...properties[side], multipleOf: LIMITS.sizeMultiple };
  properties.prompt = { ...properties.prompt, minLength: 1 };
  request.description = `width × height may be at most ${LIMITS.maxPixels} pixels; the body at most ${LIMITS.maxBodyBytes} bytes.`;
  return result;
}

/** Codes that come with `Retry-After`. */
const RETRY_LATER: readonly GatewayErrorCode[] = ['quota_exceeded', 'rate_limited', 'spend_guard', 'backend_busy', 'status_unavailable'];

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
};

function json(ref: ComponentName): JsonSchema {
  return { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } };
}

/** Error responses of an operation, grouped by status, each listing the codes it can carry. */
function errors(codes: readonly GatewayErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, GatewayErrorCode[]>();
  // Every operation can meet a per-address rate limit (WAF's or the gateway's) and an unexpected failure.
  for (const code of [...codes, 'rate_limited' as const, 'internal_error' as const]) {
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, list] of byStatus) {
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\``).join(', '),
      ...(list.some((code) => RETRY_LATER.includes(code)) ? { headers: retryAfter } : {}),
      content: json('Error'),
    };
  }
  return responses;
}

interface Operation {
  readonly summary: string;
  readonly description?: string;
  readonly success: { readonly status: string; readonly description: string; readonly content: JsonSchema };
  readonly errors: readonly GatewayErrorCode[];
  readonly requestBody?: ComponentName;
}

/** What each route does, keyed by the route list's names: a route without an entry fails to compile. */
const OPERATIONS: Readonly<Record<RouteName, Operation>> = {
  createImage: {
    summary: 'Submit a generation job',
    requestBody: 'GenerationRequest',
    success: { status: '202', description: 'Accepted; poll `GET /v1/images/{id}`.', content: json('Job') },
    errors: ['invalid_request', 'origin_not_allowed', 'body_too_large', 'unsupported_media_type', 'quota_exceeded', 'spend_guard', 'backend_busy'],
  },
  getImage: {
    summary: 'A job and, once it succeeded, its images',
    success: { status: '200', description: 'The job.', content: json('Job') },
    errors: ['not_found', 'backend_busy'],
  },
  cancelImage: {
    summary: 'Cancel a queued or running job',
    description:
      'A job that has not started yet never runs, and its images go back to the caller\'s daily quota. A job ' +
      'already running is marked `canceled` and its result discarded; on SageMaker async the GPU time is ' +
      'spent all the same. Cancelling a canceled job again answers the same job.',
    success: { status: '200', description: 'The job, now `canceled`.', content: json('Job') },
    errors: ['not_found', 'job_finished', 'backend_busy'],
  },
  getStatus: {
    summary: 'Whether the image generator is cold, warming or warm, and the expected wait',
    success: { status: '200', description: 'Backend status.', content: json('Status') },
    errors: ['status_unavailable'],
  },
  warmUp: {
    summary: 'Start loading the image generator before the first image is asked for',
    description:
      'Cheap and idempotent: the page calls it once per visit. It never creates a job and never counts against ' +
      'a quota; at most one warm-up is in flight per deployment. Lambda mode loads the engine function; async ' +
      'GPU mode wakes the GPU only where the operator opted in (`backend.warmOnVisit`), charged to the GPU-time ' +
      'budget; serverless and external backends warm nothing and answer their state.',
    success: { status: '200', description: 'The backend\'s state and whether a warm-up is in flight.', content: json('WarmUp') },
    errors: ['spend_guard', 'status_unavailable'],
  },
  getOpenApi: {
    summary: 'This document',
    success: { status: '200', description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } },
    errors: [],
  },
};

function pathParameters(path: string): JsonSchema[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}

function buildDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of ROUTES) {
    const operation = OPERATIONS[route.name];
    const parameters = pathParameters(route.path);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.name,
      summary: operation.summary,
      ...(operation.description ? { description: operation.description } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(operation.requestBody ? { requestBody: { required: true, content: json(operation.requestBody) } } : {}),
      responses: {
        [operation.success.status]: { description: operation.success.description, content: operation.success.content },
        ...(operation.errors.length > 0 ? errors(operation.errors) : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Serverless Diffusion API',
      version: '1.0.0',
      description:
        'Text-to-image jobs on Stable Diffusion 1.x. Submit a job, poll it until it is `succeeded` or ' +
        '`failed`, then fetch its images. Every error has the shape of `Error`.',
    },
    paths,
    components: { schemas: componentSchemas() },
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

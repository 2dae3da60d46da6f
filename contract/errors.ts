import * as z from 'zod';

/**
 * Every error code of the system and its HTTP status: the one place where domain errors become
 * status codes, for the public gateway and the engine's `/invocations` server alike. The two
 * answer different subsets (below); a code shared by both means the same thing in both.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  /** Engine server: the body stream broke off or could not be read. */
  bad_body: 400,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  /** Gateway: `DELETE` on a job that has already succeeded, failed or expired. */
  job_finished: 409,
  /** Engine server: `Accept` allows neither JSON nor an image type it can make. */
  not_acceptable: 406,
  /** Engine server: the body did not arrive in time. */
  body_timeout: 408,
  body_too_large: 413,
  unsupported_media_type: 415,
  quota_exceeded: 429,
  /** Too many requests from one address: WAF's rate rules answer it, or without WAF the gateway's
   * own per-address counters; API Gateway's stage throttling uses it too. Comes with `Retry-After`. */
  rate_limited: 429,
  /** Engine server: its bounded queue is full; comes with `Retry-After`. */
  queue_full: 429,
  /** Engine server: the caller went away; logged only, nobody reads the answer (nginx's 499). */
  client_closed: 499,
  internal_error: 500,
  spend_guard: 503,
  backend_busy: 503,
  status_unavailable: 503,
  /** Engine server: the model is still loading; `/ping` says the same. */
  not_ready: 503,
  /** Engine server: SIGTERM arrived; comes with `Retry-After`. */
  shutting_down: 503,
  /** Engine server: the generation ran past its time limit. */
  timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The codes the public API answers (and its OpenAPI document lists), in the table's order. */
export const GATEWAY_ERROR_CODES = [
  'invalid_request',
  'origin_not_allowed',
  'not_found',
  'method_not_allowed',
  'job_finished',
  'body_too_large',
  'unsupported_media_type',
  'quota_exceeded',
  'rate_limited',
  'internal_error',
  'spend_guard',
  'backend_busy',
  'status_unavailable',
] as const satisfies readonly ErrorCode[];
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** The codes the engine's server answers on `/ping` and `/invocations`. */
export const ENGINE_ERROR_CODES = [
  'invalid_request',
  'bad_body',
  'not_found',
  'method_not_allowed',
  'not_acceptable',
  'body_timeout',
  'body_too_large',
  'unsupported_media_type',
  'queue_full',
  'client_closed',
  'internal_error',
  'not_ready',
  'shutting_down',
  'timeout',
] as const satisfies readonly ErrorCode[];
export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

/** Engine answers that mean "come back later" rather than "this job failed". */
export const ENGINE_RETRY_LATER_CODES = ['queue_full', 'not_ready', 'shutting_down'] as const satisfies readonly EngineErrorCode[];
/** Their statuses, for callers that only see the status line. */
export const ENGINE_RETRY_LATER_STATUSES: readonly number[] = [...new Set(ENGINE_RETRY_LATER_CODES.map((code) => ERROR_STATUS[code]))];

/** The error shape of the engine server: `{error:{code,message,field?,request_id?}}`. */
export const engineErrorBodySchema = z.object({
  error: z.object({
    /** Stable machine-readable code from `ERROR_STATUS`. */
    code: z.string(),
    message: z.string(),
    /** The offending field, for validation errors. */
    field: z.string().optional(),
    /** Correlates with the server's logs. */
    request_id: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof engineErrorBodySchema>;

/** The public API's error shape: the engine's, with its codes named, plus when to come back. */
export const apiErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(GATEWAY_ERROR_CODES),
    message: z.string(),
    field: z.string().optional().meta({ description: 'The offending request field, for `invalid_request`.' }),
    request_id: z.string().optional().meta({ description: 'Quote it when reporting a problem.' }),
    retry_after_seconds: z.number().int().min(1).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

/**
 * Every error the public API can answer, and its HTTP status: the one place where domain errors
 * become status codes. The OpenAPI document lists the same codes from this table.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  body_too_large: 413,
  unsupported_media_type: 415,
  quota_exceeded: 429,
  /** Sent by the WAF in front of the gateway (its per-address rate rule), never by this code; listed so
   * the API documents every code a client can receive. */
  rate_limited: 429,
  internal_error: 500,
  spend_guard: 503,
  backend_busy: 503,
  status_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface GatewayErrorOptions {
  readonly field?: string;
  /** Sent as `Retry-After` and `retry_after_seconds`. */
  readonly retryAfterSeconds?: number;
  /** Extra response headers, e.g. `Allow` for 405. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** An error whose message is safe to show to the caller. */
export class GatewayError extends Error {
  readonly status: number;
  readonly field?: string;
  readonly retryAfterSeconds?: number;
  readonly headers?: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.status = ERROR_STATUS[code];
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers;
  }
}

/** How long a caller should wait after a dependency said it was throttled or busy. */
export const BUSY_RETRY_AFTER_SECONDS = 5;

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottledException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalDependencyException',
  // SageMaker real-time: the container has not passed /ping yet.
  'ModelNotReadyException',
]);

/**
 * True for AWS errors that mean "try again later". The SDK has already retried these with backoff
 * by the time they reach us, so the caller is told to come back rather than kept waiting.
 */
export function isRetryableDependencyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; $retryable?: { throttling?: boolean } };
  return candidate.$retryable?.throttling === true || THROTTLING_NAMES.has(String(candidate.name));
}

/** Converts anything thrown into the error the caller sees; unknown errors become `internal_error`. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (isRetryableDependencyError(error)) {
    return new GatewayError('backend_busy', 'the service is busy; try again shortly', {
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
      cause: error,
    });
  }
  return new GatewayError('internal_error', 'internal error; quote the request id if you report it', { cause: error });
}

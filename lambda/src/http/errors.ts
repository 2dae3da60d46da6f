import { ERROR_STATUS, type GatewayErrorCode } from '../../../contract/errors';

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
    readonly code: GatewayErrorCode,
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

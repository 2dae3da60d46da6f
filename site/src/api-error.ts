/**
 * Any way a call to the API can fail, in the API's own error vocabulary. Network failures and
 * answers that are not the API's JSON (a WAF block page, a proxy error) get codes of their own so
 * the page can word them too.
 */
export class ApiError extends Error {
  /** HTTP status, or 0 when no answer came back. */
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly requestId?: string;
  readonly retryAfterSeconds?: number;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    field?: string;
    requestId?: string;
    retryAfterSeconds?: number;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** Codes for failures that never reached the API's own error handling. */
export const CLIENT_ERROR_CODES = {
  network: 'network_error',
  badAnswer: 'unexpected_response',
} as const;

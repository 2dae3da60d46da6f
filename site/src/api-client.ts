import type { GenerationRequest } from '../../contract/generation-request';
import { ApiError, CLIENT_ERROR_CODES } from './api-error';
import type { ApiErrorBody } from '../../contract/errors';
import type { Job } from '../../contract/job';
import type { ApiStatus } from '../../contract/status';
import type { ApiWarmUp } from '../../contract/warmup';

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Thin client for the public API; every failure surfaces as an {@link ApiError}. */
export class ApiClient {
  private readonly base: string;

  /**
   * @param baseUrl from `config.json`; '' means the page's own origin.
   * @param pageUrl resolves relative image URLs when the API is on the page's origin.
   */
  constructor(
    baseUrl: string,
    private readonly pageUrl: string,
    private readonly fetchFn: FetchLike = (input, init) => fetch(input, init),
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  createImage(request: GenerationRequest): Promise<Job> {
    return this.call<Job>('/v1/images', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    }).then(requireJob);
  }

  getImage(id: string): Promise<Job> {
    return this.call<Job>(`/v1/images/${encodeURIComponent(id)}`).then(requireJob);
  }

  cancelImage(id: string): Promise<Job> {
    return this.call<Job>(`/v1/images/${encodeURIComponent(id)}`, { method: 'DELETE' }).then(requireJob);
  }

  getStatus(): Promise<ApiStatus> {
    return this.call<ApiStatus>('/v1/status').then((body) => {
      if (typeof body?.state !== 'string') throw unexpected(200);
      return body;
    });
  }

  /** Asks the gateway to start loading the generator; the page calls it once per visit. */
  warmUp(): Promise<ApiWarmUp> {
    return this.call<ApiWarmUp>('/v1/warmups', { method: 'POST' }).then((body) => {
      if (typeof body?.state !== 'string' || typeof body.warming !== 'boolean') throw unexpected(200);
      return body;
    });
  }

  /** Image URLs may be relative (local mode); resolve them against the API, not the page. */
  resolveUrl(url: string): string {
    return new URL(url, this.base === '' ? this.pageUrl : `${this.base}/`).href;
  }

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchFn(`${this.base}${path}`, {
        ...init,
        headers: { accept: 'application/json', ...init.headers },
        cache: 'no-store',
      });
    } catch {
      throw new ApiError({ status: 0, code: CLIENT_ERROR_CODES.network, message: 'no answer from the API' });
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (response.ok) {
      if (body === undefined) throw unexpected(response.status);
      return body as T;
    }
    throw toApiError(response, body);
  }
}

function toApiError(response: Response, body: unknown): ApiError {
  const error = (body as Partial<ApiErrorBody> | undefined)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string') return unexpected(response.status);
  return new ApiError({
    status: response.status,
    code: error.code,
    message: error.message,
    field: error.field,
    requestId: error.request_id,
    retryAfterSeconds: error.retry_after_seconds ?? parseRetryAfter(response.headers.get('retry-after')),
  });
}

function unexpected(status: number): ApiError {
  return new ApiError({ status, code: CLIENT_ERROR_CODES.badAnswer, message: `unexpected answer (HTTP ${status})` });
}

function requireJob(body: Job): Job {
  if (typeof body?.id !== 'string' || typeof body.status !== 'string') throw unexpected(200);
  return body;
}

/** `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

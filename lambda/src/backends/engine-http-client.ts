import type { GenerationRequest } from '../../../contract/generation-request';
import type { GenerationResponse } from '../../../contract/engine-response';
import { engineHealthSchema, type ModelInfo } from '../../../contract/model-info';
import { parseEngineResponse } from './engine-output';

export interface EngineHttpClientProps {
  /** Base URL of a server that keeps the container contract: `POST /invocations`, `GET /ping`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when present (external GPU providers). */
  readonly apiKey?: () => Promise<string | undefined>;
  /** @default 25 000 (inside API Gateway's 29 s integration limit) */
  readonly timeoutMs?: number;
}

/** The engine answered, but not with a success. */
export class EngineHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`engine answered ${status}`);
    this.name = 'EngineHttpError';
  }
}

/**
 * How the engine failed to answer: nobody listens at its address (`refused`), it did not answer
 * within the client's timeout (`timeout`), or the connection broke while it worked (`dropped`:
 * the engine stopped in the middle of the request).
 */
export type UnreachableReason = 'refused' | 'timeout' | 'dropped';

/** The engine could not be reached or did not answer in time. */
export class EngineUnreachableError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    readonly reason: UnreachableReason = 'dropped',
  ) {
    super(message, options);
    this.name = 'EngineUnreachableError';
  }
}

function reasonOf(error: unknown, timedOut: boolean): UnreachableReason {
  if (timedOut) return 'timeout';
  // undici puts the socket's error code on the cause of its "fetch failed" TypeError.
  const code = ((error as { cause?: { code?: unknown } }).cause?.code ?? (error as { code?: unknown }).code) as string | undefined;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'refused' : 'dropped';
}

/** Talks to an engine over HTTP with the same JSON the SageMaker container speaks. */
export class EngineHttpClient {
  /** How long `invoke` waits for an answer. */
  readonly timeoutMs: number;

  constructor(private readonly props: EngineHttpClientProps) {
    this.timeoutMs = props.timeoutMs ?? 25_000;
  }

  /** `requestId` goes out as `X-Request-Id`, which the engine logs and keys its progress by. */
  async invoke(request: GenerationRequest, signal?: AbortSignal, requestId?: string): Promise<GenerationResponse> {
    const response = await this.fetch('invocations', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(requestId ? { 'X-Request-Id': requestId } : {}) },
      body: JSON.stringify(request),
      signal,
    });
    const text = await response.text();
    if (!response.ok) throw new EngineHttpError(response.status, text);
    return parseEngineResponse(text);
  }

  /** The status of `GET /ping`: 200 once the model is loaded, 503 while it loads. */
  async ping(): Promise<number> {
    return (await this.health()).status;
  }

  /** `GET /ping` with what the engine says of its model (engines that say nothing answer without it). */
  async health(): Promise<{ readonly status: number; readonly model?: ModelInfo }> {
    const response = await this.fetch('ping', { method: 'GET', timeoutMs: 2_000 });
    const text = await response.text();
    let model: ModelInfo | undefined;
    try {
      const parsed = engineHealthSchema.safeParse(JSON.parse(text));
      model = parsed.success ? parsed.data.model : undefined;
    } catch {
      model = undefined;
    }
    return { status: response.status, ...(model ? { model } : {}) };
  }

  private async fetch(
    path: string,
    init: { method: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    const key = await this.props.apiKey?.();
    if (key) headers.Authorization = `Bearer ${key}`;
    const timeout = AbortSignal.timeout(init.timeoutMs ?? this.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const url = new URL(path, this.props.baseUrl.endsWith('/') ? this.props.baseUrl : `${this.props.baseUrl}/`);
    try {
      return await fetch(url, { method: init.method, headers, body: init.body, signal });
    } catch (error) {
      const reason = reasonOf(error, timeout.aborted);
      const what = reason === 'timeout' ? `within ${init.timeoutMs ?? this.timeoutMs} ms` : `(${(error as Error).message})`;
      throw new EngineUnreachableError(`engine at ${url.origin} did not answer ${what}`, { cause: error }, reason);
    }
  }
}

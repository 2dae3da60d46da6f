/**
 * The SageMaker container contract over Node's own http module: `GET /ping` and `POST /invocations`.
 * Everything a client can send is answered with a 4xx naming the problem; only our own faults are 5xx.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { engineWarmUpEventSchema } from '../../../contract/engine-invocation';
import { checkRequestAgainstModel, parseGenerationRequestBody } from '../../../contract/generation-request';
import type { EngineHealth } from '../../../contract/model-info';
import { ERROR_STATUS, type EngineErrorCode, type ErrorBody } from '../../../contract/errors';
import { isWithheld } from '../../../contract/safety';
import { IMAGE_MIME_TYPES, LIMITS, OUTPUT_FORMATS, type OutputFormat } from '../../../contract/limits';
import { InvalidGenerationInputError } from '../engine/pipeline';
import type { EngineService } from './engine-service';
import { QueueFullError, ShuttingDownError } from './generation-queue';
import type { Logger } from './json-logger';

export interface EngineHttpServerOptions {
  /** Undefined until the model is loaded and warmed up; /ping answers 503 meanwhile. */
  readonly service: () => EngineService | undefined;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly logPrompts: boolean;
}

/** Slow or stalled uploads are cut off; a body of at most LIMITS.maxBodyBytes (about 3 MB with an init image) has no reason to take longer. */
const BODY_TIMEOUT_MS = 10_000;

/** An answer other than success; its status comes from the contract's error table. */
class HttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export function createEngineHttpServer(options: EngineHttpServerOptions): Server {
  const server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      options.logger.error('unhandled error', { error: String(error) });
      if (!res.headersSent) sendJson(res, ERROR_STATUS.internal_error, errorBody('internal_error', 'internal error'));
      else res.destroy();
    });
  });
  server.headersTimeout = BODY_TIMEOUT_MS;
  server.requestTimeout = BODY_TIMEOUT_MS * 3;
  server.keepAliveTimeout = 65_000; // longer than SageMaker's own idle timeout, so it closes first
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: EngineHttpServerOptions): Promise<void> {
  const started = performance.now();
  const requestId = sanitizeRequestId(req.headers['x-amzn-sagemaker-inference-id'] ?? req.headers['x-request-id']) ?? randomUUID();
  res.setHeader('X-Request-Id', requestId);
  const path = (req.url ?? '/').split('?')[0];
  const log: Record<string, unknown> = { request_id: requestId, method: req.method, path };
  try {
    if (path === '/ping') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError('method_not_allowed', 'use GET /ping', undefined, { Allow: 'GET, HEAD' });
      const service = options.service();
      const health: EngineHealth = service ? { status: 'ready', model: service.model } : { status: 'loading' };
      sendJson(res, service ? 200 : 503, health);
      log.status = res.statusCode;
      return;
    }
    if (path !== '/invocations') throw new HttpError('not_found', `no route for ${path}`);
    if (req.method !== 'POST') throw new HttpError('method_not_allowed', 'use POST /invocations', undefined, { Allow: 'POST' });
    await invoke(req, res, options, log);
  } catch (error) {
    const failure = toHttpError(error, requestId, options.logger);
    // A client that went away gets no answer; there is nobody to read it.
    if (!res.destroyed && !res.headersSent) {
      for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value);
      sendJson(res, failure.status, errorBody(failure.code, failure.message, failure.field, requestId));
    }
    log.status = failure.status;
    log.error_code = failure.code;
    // Drain what is left of a refused body so keep-alive connections stay usable.
    req.resume();
  } finally {
    if (path !== '/ping' || log.status !== 200) {
      options.logger.info('request', { ...log, status: log.status ?? res.statusCode, duration_ms: Math.round(performance.now() - started) });
    }
  }
}

async function invoke(req: IncomingMessage, res: ServerResponse, options: EngineHttpServerOptions, log: Record<string, unknown>): Promise<void> {
  const service = options.service();
  if (!service) throw new HttpError('not_ready', 'the model is still loading', undefined, { 'Retry-After': '5' });
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new HttpError('unsupported_media_type', 'Content-Type must be application/json', 'content-type');
  }
  const accepted = negotiate(req.headers.accept);
  const body = await readBody(req);
  // The gateway's warm-up (`POST /v1/warmups` with backend.warmOnVisit in async mode) only wakes the
  // endpoint: the model loaded before /ping answered, so there is nothing to generate or refuse.
  if (isWarmUpEvent(body)) {
    log.warmup = true;
    sendJson(res, 200, { warmed: true });
    return;
  }
  const parsed = parseGenerationRequestBody(body);
  if (!parsed.ok) throw new HttpError(parsed.error.tooLarge ? 'body_too_large' : 'invalid_request', parsed.error.message, parsed.error.field);
  const { request } = parsed;
  // What this model cannot take is refused before the request waits in the queue.
  const unfit = checkRequestAgainstModel(request, service.pipeline.capabilities);
  if (unfit) throw new HttpError('invalid_request', unfit.message, unfit.field);
  if (accepted !== 'json' && request.output_format !== undefined && request.output_format !== accepted) {
    throw new HttpError('invalid_request', `output_format ${request.output_format} conflicts with Accept ${IMAGE_MIME_TYPES[accepted]}`, 'output_format');
  }
  Object.assign(log, {
    steps: request.steps,
    width: request.width,
    height: request.height,
    num_images: request.num_images,
    scheduler: request.scheduler,
    prompt_chars: request.prompt.length,
    ...(options.logPrompts ? { prompt: request.prompt, negative_prompt: request.negative_prompt } : {}),
  });

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new HttpError('timeout', `generation did not finish within ${options.requestTimeoutMs} ms`)), options.requestTimeoutMs);
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new ClientGoneError());
  };
  res.on('close', onClose);
  try {
    const result = await service.invoke({
      id: String(log.request_id),
      request,
      format: accepted === 'json' ? undefined : accepted,
      signal: controller.signal,
    });
    Object.assign(log, result.response.timings);
    const first = result.response.images.find((image) => !isWithheld(image));
    // Every image withheld by the safety checker: there is no picture to send, only the JSON that says so.
    if (accepted === 'json' || first === undefined || isWithheld(first)) {
      sendJson(res, 200, result.response);
    } else {
      res.writeHead(200, {
        'Content-Type': IMAGE_MIME_TYPES[first.format],
        'Content-Length': result.encoded[0].length,
        'X-Image-Seed': String(first.seed),
        'X-Image-Width': String(first.width),
        'X-Image-Height': String(first.height),
      });
      res.end(result.encoded[0]);
    }
    log.status = 200;
  } finally {
    clearTimeout(timer);
    res.off('close', onClose);
  }
}

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
  }
}

/** The response type the client wants: JSON unless it asks for an image type we can make. */
function negotiate(accept: string | undefined): OutputFormat | 'json' {
  if (!accept) return 'json';
  const types = accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  for (const type of types) {
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return 'json';
    const format = OUTPUT_FORMATS.find((candidate) => IMAGE_MIME_TYPES[candidate] === type);
    if (format) return format;
    if (type === 'image/*') return 'png';
  }
  throw new HttpError('not_acceptable', 'Accept must allow application/json, image/png, image/jpeg or image/webp', 'accept');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > LIMITS.maxBodyBytes) {
    return Promise.reject(new HttpError('body_too_large', `request body must be at most ${LIMITS.maxBodyBytes} bytes`, 'body'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(new HttpError('body_timeout', `request body was not received within ${BODY_TIMEOUT_MS} ms`, 'body')), BODY_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > LIMITS.maxBodyBytes) fail(new HttpError('body_too_large', `request body must be at most ${LIMITS.maxBodyBytes} bytes`, 'body'));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => fail(new HttpError('bad_body', `request body could not be read: ${error.message}`, 'body'));
    const onAborted = () => fail(new ClientGoneError());
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function toHttpError(error: unknown, requestId: string, logger: Logger): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof QueueFullError) {
    return new HttpError('queue_full', error.message, undefined, { 'Retry-After': String(error.retryAfterSeconds) });
  }
  if (error instanceof InvalidGenerationInputError) return new HttpError('invalid_request', error.message, error.field);
  if (error instanceof ShuttingDownError) return new HttpError('shutting_down', error.message, undefined, { 'Retry-After': '10' });
  if (error instanceof ClientGoneError) return new HttpError('client_closed', error.message);
  logger.error('generation failed', { request_id: requestId, error: error instanceof Error ? error.message : String(error) });
  return new HttpError('internal_error', 'the image could not be generated');
}

function errorBody(code: EngineErrorCode, message: string, field?: string, requestId?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}), ...(requestId ? { request_id: requestId } : {}) } };
}

function isWarmUpEvent(body: Buffer | string): boolean {
  try {
    return engineWarmUpEventSchema.safeParse(JSON.parse(body.toString())).success;
  } catch {
    return false;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

function sanitizeRequestId(value: string | string[] | undefined): string | undefined {
  const id = Array.isArray(value) ? value[0] : value;
  return id && /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : undefined;
}
